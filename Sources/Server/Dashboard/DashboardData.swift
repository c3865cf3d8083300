import Foundation
import IntakeData

/// `GET /dashboard/data`: everything the page shows, as JSON. Each part that reads the
/// database says why when it could not (`error`), so the page still answers in an outage.
struct DashboardData: Sendable, Encodable {
    struct Run: Sendable, Encodable {
        var id: String
        var pipeline: String
        var logicalDate: String
        var status: String
        var trigger: String
        var startedAt: String?
        var finishedAt: String?
        var durationSeconds: Double?
        var rowsLoaded: Int64?
        var revenue: String?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case id, pipeline, status, trigger, revenue, error
            case logicalDate = "logical_date"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
            case durationSeconds = "duration_seconds"
            case rowsLoaded = "rows_loaded"
        }

        init(_ run: EtlRun) {
            id = run.id.lowercased
            pipeline = run.pipeline
            logicalDate = run.logicalDate.description
            status = run.status.rawValue
            trigger = run.trigger.rawValue
            startedAt = run.startedAt.map(Timestamp.string)
            finishedAt = run.finishedAt.map(Timestamp.string)
            durationSeconds = run.duration
            rowsLoaded = run.rowsLoaded
            revenue = run.revenue
            error = run.error
        }
    }

    struct Check: Sendable, Encodable {
        var check: String
        var severity: String
        var passed: Bool
        var value: Double?
        var threshold: String
        var detail: String?
        var checkedAt: String

        enum CodingKeys: String, CodingKey {
            case check, severity, passed, value, threshold, detail
            case checkedAt = "checked_at"
        }

        init(_ result: DataQualityResult) {
            check = result.check
            severity = result.severity.rawValue
            passed = result.passed
            value = result.value.isFinite ? result.value : nil
            threshold = result.threshold
            detail = result.detail
            checkedAt = Timestamp.string(result.checkedAt)
        }
    }

    /// A list read from the database, or why it could not be.
    struct Listing<Item: Sendable & Encodable>: Sendable, Encodable {
        var items: [Item]
        var error: String?
    }

    var generatedAt: String
    var metrics: DashboardFigures
    var health: Readiness.Report
    var etlRuns: Listing<Run>
    var dataQuality: Listing<Check>
    var series: [DashboardHistory.Point]

    enum CodingKeys: String, CodingKey {
        case metrics, health, series
        case generatedAt = "generated_at"
        case etlRuns = "etl_runs"
        case dataQuality = "data_quality"
    }
}
