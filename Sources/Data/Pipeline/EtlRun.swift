import Foundation
import IntakeRuntime

/// One run of a pipeline for one logical date: the record of DATA.md, in Postgres
/// (`etl_runs`) and over HTTP.
public struct EtlRun: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable, Codable {
        case queued, running, succeeded, failed

        public var isFinished: Bool { self == .succeeded || self == .failed }
    }

    public enum Trigger: String, Sendable, CaseIterable, Codable {
        case schedule, manual, backfill
    }

    public var id: UUID
    public var pipeline: String
    public var logicalDate: LogicalDate
    public var status: Status
    public var trigger: Trigger
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var ordersExtracted: Int64?
    public var rowsLoaded: Int64?
    /// Revenue loaded, `"123.45"`.
    public var revenue: String?
    /// The Parquet file written, relative to the lake's parent: `lake/daily_sales/dt=D/part-0.parquet`.
    public var output: String?
    public var error: String?

    /// Control totals of the extract (not part of the public record).
    public var sourceRevenue: String?
    public var sourceUnits: Int64?
    /// The Postgres snapshot the extract read (not part of the public record).
    public var snapshot: Snapshot?

    /// A position in Postgres's commit history: of two snapshots, the one with the greater
    /// xmax sees every commit the other saw; of equal xmax, the later clock is taken as the
    /// later one.
    public struct Snapshot: Sendable, Hashable, Comparable {
        public var xmax: Int64
        public var at: Date

        public static func < (lhs: Snapshot, rhs: Snapshot) -> Bool {
            (lhs.xmax, lhs.at) < (rhs.xmax, rhs.at)
        }
    }

    /// The record as DATA.md spells it: every field present, `null` when unknown.
    public func json() -> String {
        var out = "{\"id\":\"\(id.lowercasedString)\",\"pipeline\":"
        JSONText.appendString(pipeline, to: &out)
        out += ",\"logical_date\":\"\(logicalDate)\",\"status\":\"\(status.rawValue)\",\"trigger\":\"\(trigger.rawValue)\""
        out += ",\"started_at\":" + (startedAt.map { "\"\(JSONText.timestamp($0))\"" } ?? "null")
        out += ",\"finished_at\":" + (finishedAt.map { "\"\(JSONText.timestamp($0))\"" } ?? "null")
        out += ",\"orders_extracted\":" + (ordersExtracted.map(String.init) ?? "null")
        out += ",\"rows_loaded\":" + (rowsLoaded.map(String.init) ?? "null")
        out += ",\"revenue\":" + (revenue.map(JSONText.string) ?? "null")
        out += ",\"output\":" + (output.map(JSONText.string) ?? "null")
        out += ",\"error\":" + (error.map(JSONText.string) ?? "null")
        out += "}"
        return out
    }

    /// Seconds from start to finish, when both are known.
    public var duration: Double? {
        guard let startedAt, let finishedAt else { return nil }
        return finishedAt.timeIntervalSince(startedAt)
    }
}

/// The pipelines Intake knows.
public enum Pipelines {
    public static let dailySales = "daily_sales"
    public static let all: Set<String> = [dailySales]
}
