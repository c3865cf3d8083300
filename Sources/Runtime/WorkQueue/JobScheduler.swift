import Foundation
import Logging
import ServiceLifecycle

/// Enqueues periodic jobs, exactly once per slot however many processes run a scheduler.
///
/// Each schedule's next slot is a row of `job_schedules`. A scheduler that finds the slot due
/// advances the row with a compare-and-set on the value it read and inserts the job in the
/// same statement, so only one process wins a slot. Slots missed while every process was
/// down are not replayed one by one: the job runs once, and the schedule resumes.
public struct JobScheduler: Service {
    let client: PostgresClient
    let jobs: [PeriodicJob]
    let tickInterval: Duration
    let logger: Logger

    public init(client: PostgresClient, jobs: [PeriodicJob], tickInterval: Duration = .milliseconds(250), logger: Logger = Logger(label: "intake.jobs")) {
        self.client = client
        self.jobs = jobs
        self.tickInterval = tickInterval
        self.logger = logger
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
    /// another schedule.
    @discardableResult
    public func tick(now: Date) async throws -> [String] {
        let rows = try await client.query(
            "SELECT name, next_run_at, schedule FROM job_schedules WHERE name = ANY($1)", [.textArray(jobs.map(\.name))])
        var recorded: [String: (slot: Date, schedule: String)] = [:]
        for row in rows {
            recorded[try row.decode("name")] = (try row.decode("next_run_at"), try row.decode("schedule"))
        }
        var enqueued: [String] = []
        for job in jobs {
            var slot = recorded[job.name].flatMap { $0.schedule == job.schedule.description ? $0.slot : nil }
            if slot == nil { slot = try await record(job, now: now) }
            guard let slot, slot <= now else { continue }
            if try await enqueue(job, slot: slot, now: now) { enqueued.append(job.name) }
        }
        return enqueued
    }

    /// Writes `job`'s row when it is missing or records another schedule, and returns its slot.
    private func record(_ job: PeriodicJob, now: Date) async throws -> Date? {
        guard let first = job.schedule.next(after: now) else { return nil }
        // A row computed from another schedule (the setting changed) gets its next slot anew;
        // a row from before schedules were recorded keeps its slot (it may be due).
        try await client.query(
            """
            INSERT INTO job_schedules (name, next_run_at, schedule) VALUES ($1, $2, $3)
            ON CONFLICT (name) DO UPDATE SET schedule = EXCLUDED.schedule,
                next_run_at = CASE WHEN job_schedules.schedule = '' THEN job_schedules.next_run_at ELSE EXCLUDED.next_run_at END
                WHERE job_schedules.schedule <> EXCLUDED.schedule
            """,
            [.text(job.name), .timestamptz(first), .text(job.schedule.description)])
        let current = try await client.query("SELECT next_run_at FROM job_schedules WHERE name = $1", [.text(job.name)])
        return try current.first?.decode("next_run_at", as: Date.self)
    }

    /// Advances `job`'s row from `slot` to the next slot and enqueues the job, in one
    /// statement: only the process whose compare-and-set wins enqueues it — and only while the
    /// row still records this process's schedule (another process may have recorded its own
    /// since this tick read the row).
    private func enqueue(_ job: PeriodicJob, slot: Date, now: Date) async throws -> Bool {
        guard let next = job.schedule.next(after: now) else { return false }
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
                    .text("schedule:\(job.name):\(PostgresTimestamp.format(slot))"), .text(job.schedule.description),
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
