import Foundation

/// Reads of the warehouse's `daily_sales` table (`GET /v1/reports/daily-sales`).
public struct DailySalesReport: Sendable {
    /// The longest range one request may ask for, in days (both ends included).
    public static let maxDays: Int64 = 366

    /// One row, as the report returns it; revenue as a two-decimal string.
    public struct Row: Sendable, Hashable, Codable {
        public var saleDate: String
        public var productID: String
        public var sku: String?
        public var region: String
        public var orders: Int64
        public var units: Int64
        public var revenue: String

        enum CodingKeys: String, CodingKey {
            case saleDate = "sale_date"
            case productID = "product_id"
            case sku, region, orders, units, revenue
        }

        /// Every field present; `sku` is `null` for a product the catalog no longer has.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(saleDate, forKey: .saleDate)
            try container.encode(productID, forKey: .productID)
            try container.encode(sku, forKey: .sku)
            try container.encode(region, forKey: .region)
            try container.encode(orders, forKey: .orders)
            try container.encode(units, forKey: .units)
            try container.encode(revenue, forKey: .revenue)
        }
    }

    let warehouse: Warehouse

    /// Checks a range request: both `YYYY-MM-DD`, `from` ≤ `to`, at most `maxDays` days.
    public static func validate(from: String?, to: String?) throws -> (LogicalDate, LogicalDate) {
        guard let fromText = from else { throw DataError(code: .validation, message: "is required (YYYY-MM-DD)", subject: "from") }
        guard let toText = to else { throw DataError(code: .validation, message: "is required (YYYY-MM-DD)", subject: "to") }
        guard let start = LogicalDate(fromText) else { throw DataError(code: .validation, message: "must be a date YYYY-MM-DD", subject: "from") }
        guard let end = LogicalDate(toText) else { throw DataError(code: .validation, message: "must be a date YYYY-MM-DD", subject: "to") }
        guard start <= end else { throw DataError(code: .validation, message: "must not be before from", subject: "to") }
        guard LogicalDate.count(from: start, through: end) <= maxDays else {
            throw DataError(code: .validation, message: "the range is longer than \(maxDays) days", subject: "to")
        }
        return (start, end)
    }

    /// The rows of `[from, to]`, ordered by date, product id, region.
    public func rows(from: LogicalDate, through to: LogicalDate) async throws -> [Row] {
        try await warehouse.read(
            """
            SELECT CAST(sale_date AS VARCHAR) AS sale_date, product_id, sku, region, orders, units, CAST(revenue AS VARCHAR) AS revenue
            FROM daily_sales WHERE sale_date BETWEEN DATE '\(from)' AND DATE '\(to)'
            ORDER BY sale_date, product_id, region
            """, as: Row.self)
    }
}
