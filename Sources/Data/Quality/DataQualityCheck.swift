import Foundation
import IntakeRuntime

/// One data-quality check of DATA.md: a name, a rule, and how a measured value is judged.
/// Judging is pure; measuring is SQL (`DataQualityQueries`).
public struct DataQualityCheck: Sendable, Hashable {
    public enum Severity: String, Sendable, Codable {
        case error, warn
    }

    /// How the measured value is judged.
    public enum Threshold: Sendable, Hashable {
        /// Passes when the value is exactly 0 (offending rows).
        case zero
        /// Passes when the value is at least this (a percentage).
        case atLeast(Double)
        /// Passes when the value is at most this and not negative (-1: nothing to measure).
        case atMost(Double)

        public func passes(_ value: Double) -> Bool {
            switch self {
            case .zero: value == 0
            case .atLeast(let bound): value >= bound
            case .atMost(let bound): value >= 0 && value <= bound
            }
        }

        public var description: String {
            switch self {
            case .zero: "= 0"
            case .atLeast(let bound): ">= \(DataQualityCheck.format(bound))"
            case .atMost(let bound): "<= \(DataQualityCheck.format(bound))"
            }
        }
    }

    public var name: String
    public var rule: String
    public var threshold: Threshold
    /// What the value counts, for the one-line report: "duplicate ids", "% of orders", "hours".
    public var unit: String

    /// `none` for a value not measured (a freshness with no run to measure).
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "none" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.3f", value)
    }

    /// Every check of DATA.md, in its order.
    public static let all: [DataQualityCheck] = [
        DataQualityCheck(name: "orders.id.unique", rule: "unique", threshold: .zero, unit: "duplicate ids"),
        DataQualityCheck(name: "orders.id.not_null", rule: "not_null", threshold: .zero, unit: "null ids"),
        DataQualityCheck(name: "order_items.order_id.not_null", rule: "not_null", threshold: .zero, unit: "null order ids"),
        DataQualityCheck(name: "orders.status.accepted_values", rule: "accepted_values", threshold: .zero, unit: "orders with another status"),
        DataQualityCheck(name: "order_items.order_id.relationships", rule: "relationships", threshold: .zero, unit: "items without their order"),
        DataQualityCheck(name: "orders.user_id.completeness", rule: "completeness", threshold: .atLeast(99.9), unit: "% of orders with their user"),
        DataQualityCheck(name: "warehouse.daily_sales.freshness", rule: "freshness", threshold: .atMost(26), unit: "hours since yesterday's run"),
        DataQualityCheck(name: "stock.conservation", rule: "conservation", threshold: .zero, unit: "products or shards out of balance"),
    ]
}

/// One evaluation of a check.
public struct DataQualityResult: Sendable, Hashable {
    public var check: String
    public var severity: DataQualityCheck.Severity
    public var passed: Bool
    public var value: Double
    public var threshold: String
    public var detail: String?
    public var checkedAt: Date

    public init(
        check: String, severity: DataQualityCheck.Severity, passed: Bool, value: Double, threshold: String, detail: String?,
        checkedAt: Date
    ) {
        self.check = check
        self.severity = severity
        self.passed = passed
        self.value = value
        self.threshold = threshold
        self.detail = detail
        self.checkedAt = checkedAt
    }

    /// `ok    orders.id.unique    0 duplicate ids (threshold = 0)`, and `FAIL` (with
    /// `[warn]` for a warning) when it did not pass.
    public func line(unit: String) -> String {
        let status = passed ? "ok  " : "FAIL"
        let name = check.padding(toLength: max(check.count, 36), withPad: " ", startingAt: 0)
        var out = "\(status)  \(name)  \(DataQualityCheck.format(value)) \(unit) (threshold \(threshold))"
        if severity == .warn { out += " [warn]" }
        if let detail, !passed { out += ": \(detail)" }
        return out
    }

    /// The API's JSON object.
    public func json() -> String {
        var out = "{\"check\":"
        JSONText.appendString(check, to: &out)
        out += ",\"severity\":\"\(severity.rawValue)\",\"passed\":\(passed),\"value\":\(value.isFinite ? DataQualityCheck.format(value) : "null")"
        out += ",\"threshold\":"
        JSONText.appendString(threshold, to: &out)
        out += ",\"detail\":"
        if let detail { JSONText.appendString(detail, to: &out) } else { out += "null" }
        out += ",\"checked_at\":\"\(JSONText.timestamp(checkedAt))\"}"
        return out
    }
}
