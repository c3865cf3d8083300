import Foundation
import IntakeRuntime
import Logging

/// The pipelines on the work queue: one job per run, which takes it through every step in the
/// process that staged its files; the daily schedule; and the sweep that fails runs whose
/// jobs were discarded.
///
/// A run's staged files (`etl-staging/<run>/`) live on the machine that wrote them, so its
/// steps must not be handed to whichever process polls next: with several processes and their
/// own data directories, a step would find its input missing on another machine, start over,
/// and hand the next step on again. A crashed run's job is rescued (lease) and starts again
/// from extract wherever it lands.
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
            let next = try await runs.db.query("SELECT next_run_at, schedule FROM job_schedules WHERE name = $1", [.text(Self.scheduleName)])
            let nextSlot = try next.first?.decode("next_run_at", as: Date.self)
            // The schedule in effect: another process's, configured later, when it differs.
            var schedule = settings.etlSchedule
            if case .cron(let recorded)? = try next.first.flatMap({ PeriodicJob.Schedule(recorded: try $0.decode("schedule")) }) {
                schedule = recorded
            }
            let dates = Self.logicalDates(forScheduledJob: job, schedule: schedule, nextSlot: nextSlot, now: Date())
            let own = Self.logicalDate(forScheduledJob: job, now: Date())
            if let first = dates.first, first > own {
                logger.warning(
                    "the schedule missed more days than it catches up; run the rest with intake etl backfill",
                    metadata: ["from": "\(own)", "to": "\(first.adding(days: -1))"])
            }
            for date in dates {
                if let run = try await runs.createScheduled(pipeline: Pipelines.dailySales, date: date) {
                    logger.notice("scheduled pipeline run", metadata: ["run": "\(run.id.lowercasedString)", "date": "\(date)"])
                }
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

    /// The days a scheduled job runs: its own (`logicalDate(forScheduledJob:now:)`) and the
    /// day of each slot the scheduler skipped — those after the job's own and before
    /// `nextSlot`, the slot the schedule's row now waits for. After an outage the scheduler
    /// enqueues one job, for the oldest missed slot, and moves on to the first slot after
    /// its tick: without these an outage of several days would run its first day only and
    /// never the days up to yesterday. A day is one whose following day has a slot (a
    /// schedule that skips days skips them here too); the latest `catchUpDays` of them, older
    /// ones are for `intake etl backfill`.
    static func logicalDates(
        forScheduledJob job: Job, schedule: CronSchedule, nextSlot: Date?, now: Date, catchUpDays: Int = 31
    ) -> [LogicalDate] {
        let first = logicalDate(forScheduledJob: job, now: now)
        guard job.uniqueKey?.hasPrefix("schedule:\(scheduleName):") == true, let nextSlot else { return [first] }
        var days = [first]
        var day = first.adding(days: 1)
        while day.adding(days: 1).start < nextSlot,
            let slot = schedule.next(after: day.adding(days: 1).start.addingTimeInterval(-0.001)), slot < nextSlot
        {
            if slot < day.adding(days: 2).start { days.append(day) }
            day = day.adding(days: 1)
        }
        return Array(days.suffix(max(1, catchUpDays)))
    }

    /// Runs the job's step of a run and then each next one in this process, doing what
    /// `DailySales.decide` says after each: record it and go on, end the run, start over
    /// from extract (once per attempt: the staged input went missing), or retry the job.
    func runStep(_ job: Job) async throws -> JobOutcome {
        let args = try job.decodeArgs(StepArgs.self)
        guard var run = try await runs.find(args.runID) else {
            return .discard(reason: "no run \(args.runID.lowercasedString)")
        }
        if run.status.isFinished { return .completed }
        try await runs.db.query(EtlQueries.markRunning(run.id))
        do {
            try await pipeline.sweepStaging()
        } catch {
            logger.warning("could not sweep the staging directory", metadata: ["error": "\(error)"])
        }
        var step = args.step
        var restarted = false
        while true {
            switch try await runOne(step, of: run, job: job, restarted: restarted) {
            case .next(let next):
                step = next
            case .restart:
                restarted = true
                step = .extract
            case .finished:
                return .completed
            }
            // The next step reads what this one recorded (the extract's control totals).
            guard let recorded = try await runs.find(run.id) else { return .discard(reason: "run \(run.id.lowercasedString) was deleted") }
            if recorded.status.isFinished { return .completed }
            run = recorded
        }
    }

    enum StepEnd {
        case next(DailySales.Step)
        case restart
        case finished
    }

    /// One step of `run`, and what follows from it.
    private func runOne(_ step: DailySales.Step, of run: EtlRun, job: Job, restarted: Bool) async throws -> StepEnd {
        let id = run.id.lowercasedString
        let started = ContinuousClock.now
        var recording: PostgresStatement?
        var loaded: DailySales.Loaded?
        var event: DailySales.StepEvent
        var failure: (any Error)?
        do {
            switch step {
            case .extract:
                let extracted = try await pipeline.extract(run)
                recording = EtlQueries.recordExtract(run.id, extracted)
            case .anonymize:
                recording = EtlQueries.recordUnits(run.id, units: try await pipeline.anonymize(run))
            case .aggregate:
                _ = try await pipeline.aggregate(run)
            case .load:
                loaded = try await pipeline.load(run)
            }
            event = .stepDone(step)
        } catch let error as DataError where error.code == .reconciliation || error.code == .validation || error.code == .superseded {
            // Facts about the data (totals that do not add up, a day that went cold, a later
            // snapshot of the day loaded by another run): a retry would find the same.
            event = .reconciliationFailed(error.message)
        } catch let error as DailySales.StagedInputMissing {
            // Starting over from extract once is the remedy; a second time in one attempt is a
            // fault (the staging directory is being removed under us), retried by the queue.
            event = restarted ? .stepFailed("\(step.rawValue): \(error)") : .stagedInputMissing
            failure = error
        } catch {
            failure = error
            event = .stepFailed("\(step.rawValue): \(error)")
        }
        let action = DailySales.decide(event, attempt: job.attempt, maxAttempts: job.maxAttempts)
        logger.info(
            "pipeline step ended",
            metadata: [
                "run": "\(id)", "step": "\(step.rawValue)", "attempt": "\(job.attempt)", "duration": "\(ContinuousClock.now - started)",
                "action": "\(action)",
            ])
        switch action {
        case .queueNext(let next):
            // The record is written only while the run is `running`: a run ended meanwhile
            // (failed by the orphan sweep, say) is not taken further here.
            if let recording, try await runs.db.query(recording).affectedRows == 0 {
                logger.warning("pipeline run ended while this step ran; stopping", metadata: ["run": "\(id)", "step": "\(step.rawValue)"])
                pipeline.cleanUp(run)
                return .finished
            }
            return .next(next)
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
            return .finished
        case .failRun(let reason):
            try await runs.fail(run.id, error: reason)
            pipeline.cleanUp(run)
            return .finished
        case .failRunAndGiveUp(let reason):
            try await runs.fail(run.id, error: reason)
            pipeline.cleanUp(run)
            throw failure ?? DataError(code: .storage, message: reason)
        case .restartFromExtract:
            logger.warning("staged input missing; the run starts over from extract", metadata: ["run": "\(id)", "step": "\(step.rawValue)"])
            return .restart
        case .retry:
            logger.warning("pipeline step failed; retrying", metadata: ["run": "\(id)", "step": "\(step.rawValue)", "error": "\(event)"])
            throw failure ?? DataError(code: .storage, message: "\(event)")
        }
    }
}
