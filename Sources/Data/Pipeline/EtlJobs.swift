import Foundation
import IntakeRuntime
import Logging

/// The pipelines on the work queue: one job per step of a run, the daily schedule, and the
/// sweep that fails runs whose jobs were discarded.
public struct EtlJobs: Sendable {
    public static let stepKind = "etl.step"
    public static let scheduleKind = "etl.daily_sales.schedule"
    public static let orphanSweepKind = "etl.orphans"
    public static let queue = "etl"
    /// The schedule's name in `job_schedules`.
    public static let scheduleName = "etl.daily_sales"

    let runs: EtlRuns
    let pipeline: DailySales
    let settings: DataSettings
    let logger: Logger

    /// Registers the handlers. Steps run one at a time per process: a load holds the
    /// warehouse lock anyway, and the pipeline must not starve order intake of CPU.
    public func register(on workQueue: WorkQueue) {
        workQueue.register(kind: Self.stepKind, queue: Self.queue, concurrency: 1) { job in
            try await runStep(job)
        }
        workQueue.register(kind: Self.scheduleKind, queue: Self.queue, concurrency: 1) { job in
            let date = Self.logicalDate(forScheduledJob: job, now: Date())
            if let run = try await runs.createScheduled(pipeline: Pipelines.dailySales, date: date) {
                logger.notice("scheduled pipeline run", metadata: ["run": "\(run.id.lowercasedString)", "date": "\(date)"])
            }
            return .completed
        }
        workQueue.register(kind: Self.orphanSweepKind, queue: Self.queue, concurrency: 1) { _ in
            try await runs.failOrphans()
            return .completed
        }
    }

    /// The recurring jobs: `daily_sales` for yesterday on `INTAKE_ETL_SCHEDULE`, and the
    /// orphan sweep every minute.
    public var periodicJobs: [PeriodicJob] {
        [
            PeriodicJob(
                name: Self.scheduleName, schedule: .cron(settings.etlSchedule),
                request: JobRequest(kind: Self.scheduleKind, queue: Self.queue, maxAttempts: 5)),
            PeriodicJob(
                name: Self.orphanSweepKind, schedule: .every(.seconds(60)),
                request: JobRequest(kind: Self.orphanSweepKind, queue: Self.queue, maxAttempts: 3)),
        ]
    }

    /// D = the day before the slot the scheduler enqueued the job for (its unique key ends with
    /// the slot's timestamp), so a late or retried job still runs the right day.
    static func logicalDate(forScheduledJob job: Job, now: Date) -> LogicalDate {
        // "schedule:<name>:YYYY-MM-DD HH:MM:SS.ffffff+00": the slot's date follows the name.
        let prefix = "schedule:\(scheduleName):"
        if let key = job.uniqueKey, key.hasPrefix(prefix), let slotDay = LogicalDate(String(key.dropFirst(prefix.count).prefix(10))) {
            return slotDay.adding(days: -1)
        }
        return LogicalDate(containing: now).adding(days: -1)
    }

    /// Runs one step of a run, then does what `DailySales.decide` says: queue the next step
    /// (in the transaction that records this one), end the run, start over, or retry.
    func runStep(_ job: Job) async throws -> JobOutcome {
        let args = try job.decodeArgs(StepArgs.self)
        guard let run = try await runs.find(args.runID) else {
            return .discard(reason: "no run \(args.runID.lowercasedString)")
        }
        if run.status.isFinished { return .completed }
        try await runs.db.query(EtlQueries.markRunning(run.id))
        let id = run.id.lowercasedString
        let started = ContinuousClock.now
        var recording: PostgresStatement?
        var loaded: DailySales.Loaded?
        let event: DailySales.StepEvent
        var failure: (any Error)?
        do {
            switch args.step {
            case .extract:
                let extracted = try await pipeline.extract(run)
                recording = EtlQueries.recordExtract(run.id, orders: extracted.orders, revenue: extracted.revenue)
            case .anonymize:
                recording = EtlQueries.recordUnits(run.id, units: try await pipeline.anonymize(run))
            case .aggregate:
                _ = try await pipeline.aggregate(run)
            case .load:
                loaded = try await pipeline.load(run)
            }
            event = .stepDone(args.step)
        } catch let error as DataError where error.code == .reconciliation {
            event = .reconciliationFailed(error.message)
        } catch is DailySales.StagedInputMissing {
            event = .stagedInputMissing
        } catch {
            failure = error
            event = .stepFailed("\(args.step.rawValue): \(error)")
        }
        let action = DailySales.decide(event, attempt: job.attempt, maxAttempts: job.maxAttempts)
        logger.info(
            "pipeline step ended",
            metadata: [
                "run": "\(id)", "step": "\(args.step.rawValue)", "attempt": "\(job.attempt)", "duration": "\(ContinuousClock.now - started)",
                "action": "\(action)",
            ])
        switch action {
        case .queueNext(let next):
            try await advance(run, to: next, recording: recording)
        case .markSucceeded:
            guard let loaded else { preconditionFailure("markSucceeded is decided only after a load") }
            let statement = EtlQueries.markSucceeded(run.id, rows: loaded.rows, revenue: loaded.revenue, output: DailySales.outputName(run.logicalDate))
            if let finished = try await runs.db.query(statement).first.map(EtlRun.init(row:)) {
                EtlMetrics.finished(finished)
                logger.notice(
                    "pipeline run succeeded",
                    metadata: ["run": "\(id)", "date": "\(run.logicalDate)", "rows": "\(loaded.rows)", "revenue": "\(loaded.revenue)"])
            }
            pipeline.cleanUp(run)
        case .failRun(let reason):
            try await runs.fail(run.id, error: reason)
            pipeline.cleanUp(run)
        case .failRunAndGiveUp(let reason):
            try await runs.fail(run.id, error: reason)
            pipeline.cleanUp(run)
            throw failure ?? DataError(code: .storage, message: reason)
        case .restartFromExtract:
            logger.warning("staged input missing; the run starts over from extract", metadata: ["run": "\(id)"])
            try await WorkQueue.enqueue(try runs.stepJob(run.id, .extract), using: runs.db)
        case .retry:
            logger.warning("pipeline step failed; retrying", metadata: ["run": "\(id)", "step": "\(args.step.rawValue)", "error": "\(event)"])
            throw failure ?? DataError(code: .storage, message: "\(event)")
        }
        return .completed
    }

    /// Records the step (if `statement`) and queues the next step, in one transaction.
    private func advance(_ run: EtlRun, to next: DailySales.Step, recording statement: PostgresStatement? = nil) async throws {
        let request = try runs.stepJob(run.id, next)
        try await runs.db.withTransaction { transaction in
            if let statement { try await transaction.query(statement) }
            try await WorkQueue.enqueue(request, in: transaction)
        }
    }
}
