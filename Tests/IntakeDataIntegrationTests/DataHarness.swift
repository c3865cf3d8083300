import Foundation
import IntakeActors
import IntakeData
import IntakeRuntime
import IntakeTestSupport
import Logging
import Testing

/// A schema with every table Intake has, a scratch data directory (lake, warehouse,
/// staging), the data platform over them, and helpers to write orders on chosen days.
struct DataHarness {
    let db: PostgresClient
    let configuration: PostgresConfiguration
    let directory: URL
    let platform: DataPlatform

    static func with<T>(
        eventTypePrefix: String = "com.example", _ body: (DataHarness) async throws -> T
    ) async throws -> T {
        try await TestServices.withSchema(poolSize: 8) { db, configuration in
            try await Migrator(client: db).migrate([
                try RuntimeMigrations.set(), try DomainMigrations.set(), try DataMigrations.set(),
            ])
            let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("intake-data-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            var settings = try DataSettings.load(
                from: ProcessInfo.processInfo.environment, dataDirectory: directory, eventTypePrefix: eventTypePrefix)
            settings.stepAttempts = 2
            let platform = try DataPlatform(db: db, settings: settings)
            return try await body(DataHarness(db: db, configuration: configuration, directory: directory, platform: platform))
        }
    }

    /// A work queue of this process with the data side's handlers, quick to retry.
    func workQueue(name: String = "test-worker") -> WorkQueue {
        let queue = WorkQueue(
            client: db,
            configuration: WorkQueueConfiguration(
                workerName: name, lease: .seconds(30), pollInterval: .milliseconds(50),
                retrySchedule: RetrySchedule(base: .milliseconds(50), cap: .milliseconds(200))))
        platform.register(on: queue)
        return queue
    }

    /// Runs the pipeline for `date` through the queue and waits for the run's end.
    func run(_ date: String, trigger: EtlRun.Trigger = .manual) async throws -> EtlRun {
        let day = try #require(LogicalDate(date))
        let run = try await platform.runs.create(pipeline: Pipelines.dailySales, date: day, trigger: trigger)
        return try await platform.runs.waitUntilFinished(run.id, interval: .milliseconds(20))
    }

    // MARK: Source data

    func product(_ id: UUID, sku: String, price: String) async throws {
        try await db.query(
            "INSERT INTO products (id, sku, name, price, stock_shards) VALUES ($1, $2, $3, $4::numeric, 2)",
            [.uuid(id), .text(sku), .text("Product \(sku)"), .text(price)])
    }

    func user(_ id: UUID, email: String, name: String) async throws {
        // The domain stores them encrypted; plain bytes here make a leak easy to spot.
        try await db.query(
            """
            INSERT INTO users (id, role, email_lookup, email_cipher, name_cipher, region, password_hash, data_key)
            VALUES ($1, 'customer', $2, $3, $4, 'north', 'x', $5)
            """,
            [.uuid(id), .bytea(Array(email.utf8)), .bytea(Array(email.utf8)), .bytea(Array(name.utf8)), .bytea([1, 2, 3])])
    }

    struct Line {
        var product: UUID
        var quantity: Int
        var unitPrice: String
        var shard: Int = 0
    }

    /// An order created at `createdAt` (ISO text, UTC) with `lines`; its amount is the lines'
    /// sum unless given.
    @discardableResult
    func order(
        user: UUID, status: String, region: String?, createdAt: String, lines: [Line], amount: String? = nil
    ) async throws -> UUID {
        let id = UUIDv7.make()
        let total = lines.reduce(Int64(0)) { $0 + Int64($1.quantity) * (Cents.parse($1.unitPrice) ?? 0) }
        try await db.query(
            """
            INSERT INTO orders (id, user_id, status, amount, region, created_at, updated_at, expires_at)
            VALUES ($1, $2, $3, $4::numeric, $5, $6::timestamptz, $6::timestamptz, $6::timestamptz + interval '15 minutes')
            """,
            [.uuid(id), .uuid(user), .text(status), .text(amount ?? Cents.format(total)), .optionalText(region), .text(createdAt)])
        for line in lines {
            try await db.query(
                "INSERT INTO order_items (order_id, product_id, shard, quantity, unit_price) VALUES ($1, $2, $3, $4, $5::numeric)",
                [.uuid(id), .uuid(line.product), .int32(Int32(line.shard)), .int32(Int32(line.quantity)), .text(line.unitPrice)])
        }
        return id
    }

    // MARK: Lake and warehouse

    var lake: URL { platform.settings.lakeDirectory }

    func partition(_ date: String) -> URL {
        lake.appendingPathComponent("daily_sales/dt=\(date)/part-0.parquet")
    }

    /// One row of `daily_sales` (warehouse or Parquet), every column as text.
    struct SalesRow: Decodable, Hashable, CustomStringConvertible {
        var sale_date: String
        var product_id: String
        var sku: String?
        var region: String
        var orders: String
        var units: String
        var revenue: String
        var etl_run_id: String

        var description: String { "\(sale_date) \(product_id) \(sku ?? "-") \(region) \(orders) \(units) \(revenue)" }
    }

    static let selectText = """
        SELECT CAST(sale_date AS VARCHAR) AS sale_date, product_id, sku, region, CAST(orders AS VARCHAR) AS orders,
            CAST(units AS VARCHAR) AS units, CAST(revenue AS VARCHAR) AS revenue, etl_run_id
        """

    func warehouseRows(_ date: String? = nil) async throws -> [SalesRow] {
        let filter = date.map { "WHERE sale_date = DATE '\($0)'" } ?? ""
        return try await platform.warehouse.read(
            "\(Self.selectText) FROM daily_sales \(filter) ORDER BY sale_date, product_id, region", as: SalesRow.self)
    }

    func parquetRows(_ date: String) async throws -> [SalesRow] {
        try await platform.duckdb.rows(
            SalesRow.self, "\(Self.selectText) FROM read_parquet('\(partition(date).path)', hive_partitioning = false) ORDER BY product_id, region")
    }

    /// The Parquet file's column names and types.
    func parquetSchema(_ date: String) async throws -> [String] {
        struct Column: Decodable { var column_name: String; var column_type: String }
        return try await platform.duckdb.rows(Column.self, "DESCRIBE SELECT * FROM read_parquet('\(partition(date).path)', hive_partitioning = false)")
            .map { "\($0.column_name) \($0.column_type)" }
    }
}

extension Array where Element == DataHarness.SalesRow {
    /// Rows without the run id, as `date product sku region orders units revenue`.
    var values: [String] { map(\.description) }
}
