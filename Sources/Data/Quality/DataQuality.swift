import Foundation
import IntakeRuntime
import Logging
import Metrics

/// Runs the data-quality checks, keeps each result in `dq_results`, and exports
/// `intake_dq_check_passing{check}` (1/0) and `intake_dq_check_value{check}`.
public struct DataQuality: Sendable {
    public static let jobKind = "dq.checks"

    let db: PostgresClient
    /// Where freshness is confirmed: yesterday's rows must be in the file, not only in the
    /// run record.
    let warehouse: ReadOnlyWarehouse
    /// Checks whose failure only warns (`INTAKE_DQ_WARN`).
    let warn: Set<String>
    let logger: Logger

    init(db: PostgresClient, warehouse: ReadOnlyWarehouse, warn: Set<String>, logger: Logger) {
        self.db = db
        self.warehouse = warehouse
        self.warn = warn
        self.logger = logger
    }

    public func severity(of check: String) -> DataQualityCheck.Severity {
        warn.contains(check) ? .warn : .error
    }

    /// Runs every check now, stores and exports the results, and returns them in DATA.md's
    /// order. A check over an empty table is a result (`0 rows`), not an error.
    @discardableResult
    public func runAll(now: Date = Date()) async throws -> [DataQualityResult] {
        let yesterday = LogicalDate(containing: now).adding(days: -1)
        var results: [DataQualityResult] = []
        for check in DataQualityCheck.all {
            guard let statement = DataQualityQueries.measure(check.name, yesterday: yesterday) else { continue }
            // float8 comes back as text (the client decodes no floating point).
            let rows = try await db.query("SELECT m.*, m.value::text AS value_text FROM (\(statement.sql)) AS m", statement.parameters)
            guard let row = rows.first else {
                throw DataError(code: .storage, message: "data-quality check \(check.name) measured nothing")
            }
            let text: String = try row.decode("value_text")
            guard var value = Double(text) else {
                throw DataError(code: .storage, message: "data-quality check \(check.name) measured \(text), not a number")
            }
            let total: Int64 = try row.decode("total")
            var detail: String? = rows.columns.contains("detail") ? try row.decode("detail") : nil
            if check.name == "warehouse.daily_sales.freshness", total > 0,
                let missing = try await missingFromWarehouse(
                    yesterday, run: try row.decode("run_id", as: String?.self), loaded: try row.decode("rows_loaded", as: Int64?.self))
            {
                // DATA.md: an empty warehouse fails, whatever the run record says; its age is
                // not measured (none, not a number that could read as fresh).
                value = .nan
                detail = missing
            }
            if detail == nil, total == 0 { detail = "0 rows" }
            results.append(
                DataQualityResult(
                    check: check.name, severity: severity(of: check.name), passed: check.threshold.passes(value), value: value,
                    threshold: check.threshold.description, detail: detail, checkedAt: now))
        }
        try await store(results)
        for result in results {
            Self.export(result)
            if !result.passed {
                logger.warning(
                    "data-quality check failed",
                    metadata: ["check": "\(result.check)", "severity": "\(result.severity.rawValue)", "value": "\(result.value)", "threshold": "\(result.threshold)"])
            }
        }
        return results
    }

    /// Why the warehouse does not hold what `day`'s latest succeeded run (`run`) loaded
    /// (`loaded` rows, each naming the run: lineage), or nil when it does.
    func missingFromWarehouse(_ day: LogicalDate, run: String?, loaded: Int64?) async throws -> String? {
        struct Count: Decodable, Sendable {
            var n: Int64
            var own: Int64
        }
        let found: Count
        do {
            let runText = (run ?? "").replacingOccurrences(of: "'", with: "''")
            found = try await warehouse.read(
                "SELECT count(*) AS n, count(*) FILTER (WHERE etl_run_id = '\(runText)') AS own FROM daily_sales WHERE sale_date = DATE '\(day)'",
                as: Count.self
            ).first ?? Count(n: 0, own: 0)
        } catch let error as DataError where error.code == .notFound || error.code == .duckdb {
            return "the warehouse holds no daily_sales: \(error.message)"
        }
        guard let loaded else { return nil }
        if found.n != loaded { return "the warehouse holds \(found.n) rows of \(day); its run loaded \(loaded)" }
        if found.own != found.n, let run {
            return "\(found.n - found.own) rows of \(day) in the warehouse were not written by its latest run \(run)"
        }
        return nil
    }

    /// `intake_dq_check_passing{check}` (1/0) and `intake_dq_check_value{check}` of `result`.
    static func export(_ result: DataQualityResult) {
        Gauge(label: "intake_dq_check_passing", dimensions: [("check", result.check)]).record(result.passed ? 1 : 0)
        Gauge(label: "intake_dq_check_value", dimensions: [("check", result.check)]).record(result.value)
    }

    func store(_ results: [DataQualityResult]) async throws {
        try await db.query(
            DataQualityQueries.insertResults,
            [
                .textArray(results.map(\.check)), .textArray(results.map(\.severity.rawValue)), .boolArray(results.map(\.passed)),
                .float8Array(results.map(\.value)), .textArray(results.map(\.threshold)),
                .array(results.map { $0.detail.map { .text($0) } ?? .null }), .timestamptzArray(results.map(\.checkedAt)),
            ])
    }

    /// The latest result of every check that has run, in DATA.md's order.
    public func latest() async throws -> [DataQualityResult] {
        let rows = try await db.query(DataQualityQueries.latest)
        var byName: [String: DataQualityResult] = [:]
        for row in rows {
            let name: String = try row.decode("check_name")
            let severity: String = try row.decode("severity")
            let value: String = try row.decode("measured")
            byName[name] = DataQualityResult(
                check: name, severity: DataQualityCheck.Severity(rawValue: severity) ?? .error, passed: try row.decode("passed"),
                value: Double(value) ?? .nan, threshold: try row.decode("threshold"), detail: try row.decode("detail"),
                checkedAt: try row.decode("checked_at"))
        }
        let order = DataQualityCheck.all.map(\.name)
        return order.compactMap { byName[$0] } + byName.keys.filter { !order.contains($0) }.sorted().compactMap { byName[$0] }
    }

    /// Whether any `error` check failed.
    public static func anyErrorFailed(_ results: [DataQualityResult]) -> Bool {
        results.contains { !$0.passed && $0.severity == .error }
    }

    public func register(on workQueue: WorkQueue) {
        workQueue.register(kind: Self.jobKind, queue: EtlJobs.queue, concurrency: 1) { _ in
            try await runAll()
            return .completed
        }
    }

    /// Hourly, on the hour.
    public var periodicJob: PeriodicJob {
        PeriodicJob(name: Self.jobKind, schedule: .every(.seconds(3600)), request: JobRequest(kind: Self.jobKind, queue: EtlJobs.queue, maxAttempts: 3))
    }
}
