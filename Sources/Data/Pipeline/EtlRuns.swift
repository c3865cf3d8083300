import Foundation
import IntakeRuntime
import Logging
import Metrics

/// The run records of every pipeline: creating runs (with their first step job, in one
/// transaction), reading them, and ending them.
public struct EtlRuns: Sendable {
    let db: PostgresClient
    let events: PipelineEvents
    let stepAttempts: Int
    let logger: Logger

    init(db: PostgresClient, events: PipelineEvents, stepAttempts: Int, logger: Logger) {
        self.db = db
        self.events = events
        self.stepAttempts = stepAttempts
        self.logger = logger
    }

    /// Checks a run request: a known pipeline and a `YYYY-MM-DD` day not after `today` (UTC).
    public static func validate(pipeline: String, date: String, today: LogicalDate = LogicalDate(containing: Date())) throws -> LogicalDate {
        guard Pipelines.all.contains(pipeline) else {
            throw DataError(code: .validation, message: "unknown pipeline \"\(pipeline)\"; known: \(Pipelines.all.sorted().joined(separator: ", "))", subject: "pipeline")
        }
        guard let day = LogicalDate(date) else {
            throw DataError(code: .validation, message: "must be a date YYYY-MM-DD", subject: "date")
        }
        guard day <= today else {
            throw DataError(code: .validation, message: "\(day) is in the future (today is \(today) UTC)", subject: "date")
        }
        return day
    }

    /// A queued run of `pipeline` for `date`, with its first step's job.
    public func create(pipeline: String, date: LogicalDate, trigger: EtlRun.Trigger) async throws -> EtlRun {
        let draft = EtlRun(
            id: UUIDv7.make(), pipeline: pipeline, logicalDate: date, status: .queued, trigger: trigger, createdAt: Date())
        return try await db.withTransaction { transaction in
            let rows = try await transaction.query(EtlQueries.insert(draft))
            guard let row = rows.first else { throw DataError(code: .storage, message: "inserting the run returned nothing") }
            let run = try EtlRun(row: row)
            try await WorkQueue.enqueue(try stepJob(run.id, .extract), in: transaction)
            return run
        }
    }

    /// The schedule's run of `date`, unless the schedule already made one (any process).
    public func createScheduled(pipeline: String, date: LogicalDate) async throws -> EtlRun? {
        let draft = EtlRun(
            id: UUIDv7.make(), pipeline: pipeline, logicalDate: date, status: .queued, trigger: .schedule, createdAt: Date())
        return try await db.withTransaction { transaction in
            guard let row = try await transaction.query(EtlQueries.insertScheduled(draft)).first else { return nil }
            let run = try EtlRun(row: row)
            try await WorkQueue.enqueue(try stepJob(run.id, .extract), in: transaction)
            return run
        }
    }

    public func find(_ id: UUID) async throws -> EtlRun? {
        try await Self.find(id, in: db)
    }

    static func find(_ id: UUID, in db: PostgresClient) async throws -> EtlRun? {
        try await db.query(EtlQueries.find(id)).first.map(EtlRun.init(row:))
    }

    /// The newest run of `pipeline` started by `trigger` (the last scheduled run, for the
    /// batch schedule).
    public func latest(pipeline: String, trigger: EtlRun.Trigger) async throws -> EtlRun? {
        try await db.query(EtlQueries.latest(pipeline: pipeline, trigger: trigger.rawValue)).first.map(EtlRun.init(row:))
    }

    /// A page of runs, newest first; `nextCursor` continues after the last one.
    public func page(pipeline: String?, limit: Int, after cursor: UUID?) async throws -> (runs: [EtlRun], nextCursor: UUID?) {
        var runs = try await db.query(EtlQueries.page(pipeline: pipeline, limit: limit + 1, after: cursor)).map(EtlRun.init(row:))
        var next: UUID?
        if runs.count > limit {
            runs.removeLast()
            next = runs.last?.id
        }
        return (runs, next)
    }

    /// Waits until the run has finished, checking every `interval`; returns it.
    public func waitUntilFinished(_ id: UUID, interval: Duration = .milliseconds(100)) async throws -> EtlRun {
        while true {
            guard let run = try await find(id) else { throw DataError(code: .notFound, message: "no run \(id.lowercasedString)") }
            if run.status.isFinished { return run }
            try await Task.sleep(for: interval)
        }
    }

    /// Fails an unfinished run and, in the same transaction, puts `pipeline.failed` in the
    /// outbox; counts it in metrics. Nil when the run had already finished.
    @discardableResult
    public func fail(_ id: UUID, error: String) async throws -> EtlRun? {
        let failed: EtlRun? = try await db.withTransaction { transaction in
            guard let row = try await transaction.query(EtlQueries.markFailed(id, error: error)).first else { return nil }
            let run = try EtlRun(row: row)
            let insert = OutboxQueries.insert([events.pipelineFailed(run, error: error)])
            _ = try await transaction.pipeline([insert, OutboxQueries.notify])
            return run
        }
        if let failed {
            EtlMetrics.finished(failed)
            logger.error(
                "pipeline run failed",
                metadata: ["run": "\(id.lowercasedString)", "pipeline": "\(failed.pipeline)", "date": "\(failed.logicalDate)", "error": "\(error)"])
        }
        return failed
    }

    /// Fails every unfinished run that no job carries any more (its last step job was
    /// discarded after a crash, say): such a run would otherwise stay `running` for ever.
    @discardableResult
    public func failOrphans() async throws -> [EtlRun] {
        var failed: [EtlRun] = []
        for row in try await db.query(EtlQueries.orphans) {
            let id: UUID = try row.decode("id")
            let lastError: String? = try row.decode("last_error")
            let lastState: String? = try row.decode("last_state")
            let reason: String
            switch lastState {
            case "discarded": reason = "its step job was discarded" + (lastError.map { ": \($0)" } ?? "")
            case let state?: reason = "its last job ended (\(state)) without finishing the run" + (lastError.map { ": \($0)" } ?? "")
            case nil: reason = "no job was ever queued for it"
            }
            if let run = try await fail(id, error: reason) { failed.append(run) }
        }
        return failed
    }

    /// The run that job `jobID` carries, when it is a pipeline job (nil otherwise).
    public static func run(ofJob jobID: Int64, in db: PostgresClient) async throws -> EtlRun? {
        let rows = try await db.query(EtlQueries.runOfJob, [.int64(jobID), .text(EtlJobs.stepKind)])
        guard let text: String = try rows.first?.decode("run_id"), let id = UUID(canonical: text) else { return nil }
        return try await find(id, in: db)
    }

    /// The job that runs `step` of run `id`; its unique key names both, so a step is queued
    /// once and `failOrphans` can tell a run's jobs.
    func stepJob(_ id: UUID, _ step: DailySales.Step) throws -> JobRequest {
        try JobRequest(
            kind: EtlJobs.stepKind, args: StepArgs(runID: id, step: step), queue: EtlJobs.queue, maxAttempts: stepAttempts,
            uniqueKey: "etl:\(id.lowercasedString):\(step.rawValue)")
    }
}

/// The arguments of a step job.
struct StepArgs: Codable, Sendable {
    var runID: UUID
    var step: DailySales.Step

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case step
    }
}

/// The pipelines' metrics of this process (the counts of every process's runs are
/// `DataMetrics`', read from the database).
enum EtlMetrics {
    static func finished(_ run: EtlRun) {
        if let duration = run.duration {
            Recorder(label: "intake_etl_run_duration_seconds", dimensions: [("pipeline", run.pipeline)]).record(duration)
        }
    }
}
