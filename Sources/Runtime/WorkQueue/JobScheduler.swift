import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Enqueues periodic jobs, exactly once per slot however many processes run a scheduler.
///
/// Each schedule's next slot is a row of `job_schedules`. A scheduler that finds the slot due
/// advances the row with a compare-and-set on the value it read and inserts the job in the
/// same statement, so only one process wins a slot. Slots missed while every process was
/// down are not replayed one by one: the job runs once, and the schedule resumes.
///
/// Processes configured with different schedules for one job (a rolling change of its
/// setting) follow the one configured last: the row records when the process that wrote it
/// started (`configured_at`), a process started earlier does not overwrite it, and it
/// enqueues on the recorded schedule's slots, saying once that its own is not in effect.
public struct JobScheduler: Service {
    let client: PostgresClient
    let jobs: [PeriodicJob]
    let tickInterval: Duration
    let logger: Logger
    /// When this process's schedules were configured: a row recorded by a process configured
    /// later is followed, not overwritten.
    let configuredAt: Date
    /// A scheduler overwrites another process's recorded schedule only once it has existed
    /// this long: a `serve` that fails to start (its port taken) must not change the fleet's
    /// schedule. A missing row is recorded at once.
    let claimAfter: Duration
    private let created = ContinuousClock.now
    private let overridden = OverriddenSchedules()

    public init(
        client: PostgresClient, jobs: [PeriodicJob], tickInterval: Duration = .milliseconds(250), configuredAt: Date = Date(),
        claimAfter: Duration = .seconds(10), logger: Logger = Logger(label: "intake.jobs")
    ) {
        self.client = client
        self.jobs = jobs
        self.tickInterval = tickInterval
        self.configuredAt = configuredAt
        self.claimAfter = claimAfter
        self.logger = logger
    }

    /// The recorded schedules this process follows instead of its own, to say so once each.
    private final class OverriddenSchedules: Sendable {
        private let said = Mutex<[String: String]>([:])

        /// True the first time `job` is found following `recorded`.
        func isNew(_ job: String, _ recorded: String) -> Bool {
            said.withLock { said in
                defer { said[job] = recorded }
                return said[job] != recorded
            }
        }

        func clear(_ job: String) {
            _ = said.withLock { $0.removeValue(forKey: job) }
        }
    }

    public func run() async throws {
        try await PeriodicTask.run(every: tickInterval) {
            do {
                try await tick(now: Date())
            } catch {
                logger.warning("scheduling periodic jobs failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Enqueues every job whose slot is due at `now`; returns the names it enqueued. One read
    /// of every job's slot per tick; a job's row is written only when it is missing or records
    /// another schedule that was configured no later than this process's.
    @discardableResult
    public func tick(now: Date) async throws -> [String] {
        let rows = try await client.query(
            "SELECT name, next_run_at, schedule, configured_at FROM job_schedules WHERE name = ANY($1)", [.textArray(jobs.map(\.name))])
        var recorded: [String: Recorded] = [:]
        for row in rows {
            recorded[try row.decode("name")] = Recorded(
                slot: try row.decode("next_run_at"), schedule: try row.decode("schedule"), configuredAt: try row.decode("configured_at"))
        }
        var enqueued: [String] = []
        for job in jobs {
            var current = recorded[job.name]
            if current.map({ !follows($0, job, now: now) }) ?? true { current = try await record(job, now: now) }
            guard let current, current.slot <= now, let schedule = effectiveSchedule(current, job) else { continue }
            if try await enqueue(job, on: schedule, slot: current.slot, now: now) { enqueued.append(job.name) }
        }
        return enqueued
    }

    /// A job's row: its next slot, the schedule it was computed from, and when the process
    /// that recorded it was configured.
    struct Recorded {
        var slot: Date
        var schedule: String
        var configuredAt: Date
    }

    /// Whether this process goes by `row` as it is: it records this process's schedule, or one
    /// (that this process can read) configured later — or by any process, while this scheduler
    /// has existed for less than `claimAfter`.
    private func follows(_ row: Recorded, _ job: PeriodicJob, now: Date) -> Bool {
        if row.schedule == job.schedule.description { return true }
        guard PeriodicJob.Schedule(recorded: row.schedule) != nil else { return false }
        return row.configuredAt > configuredAt || ContinuousClock.now < created + claimAfter
    }

    /// The schedule `row` is computed from, saying once when it is not this process's own.
    private func effectiveSchedule(_ row: Recorded, _ job: PeriodicJob) -> PeriodicJob.Schedule? {
        if row.schedule == job.schedule.description {
            overridden.clear(job.name)
            return job.schedule
        }
        guard let schedule = PeriodicJob.Schedule(recorded: row.schedule) else { return nil }
        if overridden.isNew(job.name, row.schedule) {
            logger.warning(
                "another process, configured later, set this job's schedule: following it instead of this process's",
                metadata: ["job": "\(job.name)", "recorded": "\(row.schedule)", "configured here": "\(job.schedule.description)"])
        }
        return schedule
    }

    /// Writes `job`'s row when it is missing, or records another schedule configured no later
    /// than this process's; returns the row as it is then.
    private func record(_ job: PeriodicJob, now: Date) async throws -> Recorded? {
        guard let first = job.schedule.next(after: now) else { return nil }
        // A row computed from another schedule (the setting changed) gets its next slot anew;
        // a row from before schedules were recorded keeps its slot (it may be due).
        try await client.query(
            """
            INSERT INTO job_schedules (name, next_run_at, schedule, configured_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (name) DO UPDATE SET schedule = EXCLUDED.schedule, configured_at = EXCLUDED.configured_at,
                next_run_at = CASE WHEN job_schedules.schedule = '' THEN job_schedules.next_run_at ELSE EXCLUDED.next_run_at END
                WHERE job_schedules.schedule <> EXCLUDED.schedule AND job_schedules.configured_at <= EXCLUDED.configured_at
            """,
            [.text(job.name), .timestamptz(first), .text(job.schedule.description), .timestamptz(configuredAt)])
        let current = try await client.query("SELECT next_run_at, schedule, configured_at FROM job_schedules WHERE name = $1", [.text(job.name)])
        return try current.first.map {
            Recorded(slot: try $0.decode("next_run_at"), schedule: try $0.decode("schedule"), configuredAt: try $0.decode("configured_at"))
        }
    }

    /// Advances `job`'s row from `slot` to the next slot and enqueues the job, in one
    /// statement: only the process whose compare-and-set wins enqueues it — and only while the
    /// row still records this process's schedule (another process may have recorded its own
    /// since this tick read the row).
    private func enqueue(_ job: PeriodicJob, on schedule: PeriodicJob.Schedule, slot: Date, now: Date) async throws -> Bool {
        guard let next = schedule.next(after: now) else { return false }
        let request = job.request
        let results = try await client.pipeline([
            PostgresStatement(
                """
                WITH won AS (
                    UPDATE job_schedules SET next_run_at = $2 WHERE name = $1 AND next_run_at = $3 AND schedule = $10 RETURNING 1
                )
                INSERT INTO jobs (kind, queue, args, priority, max_attempts, unique_key)
                SELECT $4, $5, $6::jsonb, $7, $8, $9 FROM won
                RETURNING id
                """,
                [
                    .text(job.name), .timestamptz(next), .timestamptz(slot), .text(request.kind), .text(request.queue),
                    .text(request.args), .int16(request.priority), .int32(Int32(clamping: request.maxAttempts)),
                    .text("schedule:\(job.name):\(PostgresTimestamp.format(slot))"), .text(schedule.description),
                ]),
            JobQueries.notify(kinds: [request.kind]),
        ])
        let won = !results[0].isEmpty
        if won {
            logger.debug("enqueued periodic job", metadata: ["name": "\(job.name)", "slot": "\(slot)"])
        }
        return won
    }
}
