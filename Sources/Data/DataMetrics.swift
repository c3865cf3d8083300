import Foundation
import IntakeRuntime
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The data side's metrics as the database has them, exported by every serving process:
/// runs are finished by whichever process ran their steps (a server, or `intake etl run` in a
/// shell that exits) and checks are measured by whichever ran them (`intake check` too), so
/// counting in one process would show only its share. Every `interval` it reads `etl_runs`
/// and the latest `dq_results`: `intake_etl_runs_total{pipeline,status}` and
/// `intake_etl_runs_failed_total{pipeline}` follow the table's counts of finished runs (rows
/// are never deleted and a run finishes once, so they only grow, as counters must),
/// `intake_etl_runs_in_progress{pipeline,status}` its queued and running ones,
/// `intake_dq_check_passing{check}` and
/// `intake_dq_check_value{check}` the latest result of each check (run once at the first
/// refresh when none has ever run).
public final class DataMetrics: Service {
    let db: PostgresClient
    let quality: DataQuality
    let interval: Duration
    let logger: Logger
    /// Counts already exported, by "pipeline/status".
    private let exported = Mutex<[String: Int64]>([:])

    init(db: PostgresClient, quality: DataQuality, interval: Duration = .seconds(15), logger: Logger) {
        self.db = db
        self.quality = quality
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try await PeriodicTask.run(every: interval) { [self] in
            do {
                try await refresh()
            } catch {
                logger.debug("could not refresh the data metrics", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Reads the counts and the latest check results and exports them now.
    public func refresh() async throws {
        let rows = try await db.query("SELECT pipeline, status, count(*)::int8 AS runs FROM etl_runs GROUP BY pipeline, status")
        var counts: [String: Int64] = [:]
        for row in rows {
            counts["\(try row.decode("pipeline", as: String.self))/\(try row.decode("status", as: String.self))"] = try row.decode("runs")
        }
        for status in EtlRun.Status.allCases where counts["daily_sales/\(status.rawValue)"] == nil {
            counts["daily_sales/\(status.rawValue)"] = 0
        }
        // Runs still queued or running come and go: a gauge. Finished ones only add up.
        for (key, count) in counts {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let status = EtlRun.Status(rawValue: parts[1]), !status.isFinished else { continue }
            Gauge(label: "intake_etl_runs_in_progress", dimensions: [("pipeline", parts[0]), ("status", parts[1])]).record(count)
            counts[key] = nil
        }
        let deltas = exported.withLock { exported -> [(String, Int64)] in
            var deltas: [(String, Int64)] = []
            for (key, count) in counts {
                let delta = count - (exported[key] ?? 0)
                if delta > 0 || exported[key] == nil { deltas.append((key, max(delta, 0))) }
                exported[key] = max(count, exported[key] ?? 0)
            }
            return deltas
        }
        for (key, delta) in deltas {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            Counter(label: "intake_etl_runs_total", dimensions: [("pipeline", parts[0]), ("status", parts[1])]).increment(by: delta)
            if parts[1] == EtlRun.Status.failed.rawValue {
                Counter(label: "intake_etl_runs_failed_total", dimensions: [("pipeline", parts[0])]).increment(by: delta)
            }
        }
        var latest = try await quality.latest()
        if latest.isEmpty {
            // No check has ever run on this database (a fresh install): run them now, so that
            // GET /v1/data-quality and these gauges have results before the first hourly run.
            latest = try await quality.runAll()
        }
        for result in latest {
            DataQuality.export(result)
        }
    }
}
