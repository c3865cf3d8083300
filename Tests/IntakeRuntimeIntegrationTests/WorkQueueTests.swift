import Foundation
import IntakeRuntime
import IntakeTestSupport
import Synchronization
import Testing

@Suite("Work queue against a real server")
struct WorkQueueTests {
    static let fast = WorkQueueConfiguration(
        lease: .seconds(30), pollInterval: .milliseconds(200), retrySchedule: RetrySchedule(base: .milliseconds(50), cap: .milliseconds(200)),
        shutdownDeadline: .seconds(5))

    func state(_ db: PostgresClient, _ id: Int64) async throws -> (state: String, attempt: Int, error: String?) {
        let row = try await db.query("SELECT state, attempt, last_error FROM jobs WHERE id = $1", [.int64(id)])[0]
        return (try row.decode("state"), try row.decode("attempt"), try row.decode("last_error"))
    }

    @Test func enqueuedJobRunsAndIsCompleted() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            let queue = WorkQueue(client: db, configuration: Self.fast)
            let ran = Signal()
            let seenArgs = Mutex<String?>(nil)
            queue.register(kind: "greet", concurrency: 2) { job in
                struct Args: Decodable { var name: String }
                seenArgs.withLock { $0 = (try? job.decodeArgs(Args.self))?.name }
                ran.fire()
                return .completed
            }
            try await withRunningServices([queue]) {
                struct Args: Encodable { var name: String }
                let result = try await queue.enqueue(try JobRequest(kind: "greet", args: Args(name: "Ada")))
                #expect(!result.duplicate)
                try await ran.wait(for: 1)
                try await waitUntil("the job is completed") { try await state(db, result.jobID).state == "completed" }
            }
            #expect(seenArgs.withLock { $0 } == "Ada")
        }
    }

    @Test func jobEnqueuedInARolledBackTransactionNeverExists() async throws {
        struct Abort: Error {}
        try await TestServices.withRuntimeSchema { db, _ in
            await #expect(throws: Abort.self) {
                try await db.withTransaction { tx in
                    try await WorkQueue.enqueue(JobRequest(kind: "ghost"), in: tx)
                    throw Abort()
                }
            }
            try await db.withTransaction { tx in
                try await WorkQueue.enqueue(JobRequest(kind: "real"), in: tx)
            }
            let kinds = try await db.query("SELECT kind FROM jobs").map { try $0.decode("kind", as: String.self) }
            #expect(kinds == ["real"])
        }
    }

    /// (That a producer never fetches more jobs than it has free slots is the state machine's
    /// property, tested in JobProducerStateMachineTests. Rows in state `running` may briefly
    /// outnumber the slots: a finished job frees its slot before its batched completion is
    /// written.)
    @Test func concurrencyLimitIsNeverExceeded() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            let queue = WorkQueue(client: db, configuration: Self.fast)
            let active = Mutex((now: 0, peak: 0))
            let done = Signal()
            queue.register(kind: "slow", concurrency: 3) { _ in
                active.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                try await Task.sleep(for: .milliseconds(20))
                active.withLock { $0.now -= 1 }
                done.fire()
                return .completed
            }
            try await WorkQueue.enqueueMany((0..<24).map { _ in JobRequest(kind: "slow") }, using: db)
            try await withRunningServices([queue]) {
                try await done.wait(for: 24)
            }
            #expect(active.withLock { $0.peak } <= 3)
            #expect(active.withLock { $0.peak } >= 2, "the limit is used, not serialised")
        }
    }

    @Test func twoWorkersNeverRunTheSameJobTwice() async throws {
        try await TestServices.withRuntimeSchema { db, configuration in
            try await db.query("CREATE TABLE runs (job_id bigint NOT NULL, worker text NOT NULL)")
            let total = 400
            try await WorkQueue.enqueueMany((0..<total).map { _ in JobRequest(kind: "count") }, using: db)
            let done = Signal()
            // Two workers on two separate clients: two processes competing for the same rows.
            let clients = [PostgresClient(configuration: configuration), PostgresClient(configuration: configuration)]
            defer { clients.forEach { $0.shutdown() } }
            let queues = clients.enumerated().map { index, client in
                let queue = WorkQueue(client: client, configuration: WorkQueueConfiguration(workerName: "worker-\(index)", pollInterval: .milliseconds(100)))
                queue.register(kind: "count", concurrency: 8) { job in
                    try await client.query("INSERT INTO runs VALUES ($1, $2)", [.int64(job.id), .text("worker-\(index)")])
                    done.fire()
                    return .completed
                }
                return queue
            }
            try await withRunningServices(queues) {
                try await done.wait(for: total)
            }
            let row = try await db.query("SELECT count(*) AS runs, count(DISTINCT job_id) AS jobs, count(DISTINCT worker) AS workers FROM runs")[0]
            #expect(try row.decode("runs", as: Int.self) == total)
            #expect(try row.decode("jobs", as: Int.self) == total)
            #expect(try row.decode("workers", as: Int.self) == 2, "both workers took part")
        }
    }

    @Test func jobOfADeadWorkerIsRescuedAfterItsLeaseAndRunsAgain() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            let job = try await WorkQueue.enqueue(JobRequest(kind: "orphan"), using: db)
            // A worker takes the job with a short lease, then dies without completing it.
            let taken = try await db.query(
                """
                UPDATE jobs SET state = 'running', attempt = attempt + 1, locked_by = 'dead-worker',
                    lease_until = now() + interval '200 milliseconds' WHERE id = $1 RETURNING id
                """, [.int64(job.jobID)])
            #expect(taken.count == 1)
            let ran = Signal()
            let attempts = Mutex<[Int]>([])
            let queue = WorkQueue(client: db, configuration: Self.fast)
            queue.register(kind: "orphan") { job in
                attempts.withLock { $0.append(job.attempt) }
                ran.fire()
                return .completed
            }
            let rescuer = JobRescuer(client: db, interval: .milliseconds(100))
            try await withRunningServices([queue, rescuer]) {
                try await ran.wait(for: 1)
                try await waitUntil("the rescued job is completed") { try await state(db, job.jobID).state == "completed" }
            }
            #expect(attempts.withLock { $0 } == [2], "the dead worker's attempt counts")
        }
    }

    @Test func failuresRetryWithBackoffThenSucceed() async throws {
        struct Flaky: Error, CustomStringConvertible { var description: String { "flaky failure" } }
        try await TestServices.withRuntimeSchema { db, _ in
            let queue = WorkQueue(client: db, configuration: Self.fast)
            let calls = Signal()
            queue.register(kind: "flaky") { job in
                calls.fire()
                if job.attempt < 3 { throw Flaky() }
                return .completed
            }
            let job = try await WorkQueue.enqueue(JobRequest(kind: "flaky", maxAttempts: 5), using: db)
            try await withRunningServices([queue]) {
                try await calls.wait(for: 3)
                try await waitUntil("the job is completed") { try await state(db, job.jobID).state == "completed" }
            }
            let final = try await state(db, job.jobID)
            #expect(final.attempt == 3)
            #expect(final.error == "flaky failure", "the last error is kept")
        }
    }

    @Test func exhaustedAttemptsAndExplicitDiscardsAreKeptAsDiscarded() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "always broken" } }
        try await TestServices.withRuntimeSchema { db, _ in
            let queue = WorkQueue(client: db, configuration: Self.fast)
            queue.register(kind: "broken") { _ in throw Broken() }
            queue.register(kind: "refused") { _ in .discard(reason: "invalid arguments") }
            let broken = try await WorkQueue.enqueue(JobRequest(kind: "broken", maxAttempts: 2), using: db)
            let refused = try await WorkQueue.enqueue(JobRequest(kind: "refused"), using: db)
            try await withRunningServices([queue]) {
                try await waitUntil("both jobs are discarded") {
                    let brokenState = try await state(db, broken.jobID).state
                    let refusedState = try await state(db, refused.jobID).state
                    return brokenState == "discarded" && refusedState == "discarded"
                }
            }
            let brokenState = try await state(db, broken.jobID)
            #expect(brokenState.attempt == 2)
            #expect(brokenState.error?.hasPrefix("always broken") == true)
            #expect(try await state(db, refused.jobID).error == "invalid arguments")
            #expect(try await state(db, refused.jobID).attempt == 1)
        }
    }

    @Test func uniqueKeyReturnsTheUnfinishedJobUntilItFinishes() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            let first = try await WorkQueue.enqueue(JobRequest(kind: "report", uniqueKey: "report:2026-11-27"), using: db)
            let second = try await WorkQueue.enqueue(JobRequest(kind: "report", uniqueKey: "report:2026-11-27"), using: db)
            #expect(!first.duplicate)
            #expect(second.duplicate)
            #expect(second.jobID == first.jobID)
            try await db.query("UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id = $1", [.int64(first.jobID)])
            let third = try await WorkQueue.enqueue(JobRequest(kind: "report", uniqueKey: "report:2026-11-27"), using: db)
            #expect(!third.duplicate)
            #expect(third.jobID != first.jobID)
        }
    }

    @Test func scheduledJobDoesNotRunBeforeItsTime() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            let queue = WorkQueue(client: db, configuration: Self.fast)
            let ranAt = Mutex<Date?>(nil)
            let ran = Signal()
            queue.register(kind: "later") { _ in
                ranAt.withLock { $0 = Date() }
                ran.fire()
                return .completed
            }
            let runAt = Date().addingTimeInterval(0.8)
            try await WorkQueue.enqueue(JobRequest(kind: "later", runAt: runAt), using: db)
            try await withRunningServices([queue]) {
                try await ran.wait(for: 1)
            }
            let started = try #require(ranAt.withLock { $0 })
            #expect(started >= runAt.addingTimeInterval(-0.05), "ran \(runAt.timeIntervalSince(started)) s early")
        }
    }

    @Test func completionsAreWrittenInBatches() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            let queue = WorkQueue(client: db, configuration: Self.fast)
            let done = Signal()
            queue.register(kind: "noop", concurrency: 100) { _ in
                done.fire()
                return .completed
            }
            try await WorkQueue.enqueueMany((0..<1000).map { _ in JobRequest(kind: "noop") }, using: db)
            try await withRunningServices([queue]) {
                try await done.wait(for: 1000)
                try await waitUntil("every job is completed") {
                    try await db.query("SELECT count(*) AS n FROM jobs WHERE state = 'completed'")[0].decode("n", as: Int.self) == 1000
                }
            }
            #expect(queue.completionBatchesWritten < 200, "\(queue.completionBatchesWritten) batches for 1000 jobs")
        }
    }

    @Test func gracefulShutdownFinishesQuickJobsAndReleasesTheRest() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            let queue = WorkQueue(
                client: db,
                // The deadline is what this test is about; 5 s keeps a paused machine from
                // passing it before a 50 ms job's completion reaches its producer.
                configuration: WorkQueueConfiguration(lease: .seconds(30), pollInterval: .milliseconds(100), shutdownDeadline: .seconds(5)))
            let started = Signal()
            queue.register(kind: "quick") { _ in
                started.fire()
                try? await Task.sleep(for: .milliseconds(50))
                return .completed
            }
            queue.register(kind: "endless") { _ in
                started.fire()
                // Ends only when cancelled at the deadline.
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
                throw CancellationError()
            }
            let quick = try await WorkQueue.enqueue(JobRequest(kind: "quick"), using: db)
            let endless = try await WorkQueue.enqueue(JobRequest(kind: "endless"), using: db)
            try await withRunningServices([queue]) {
                try await started.wait(for: 2)
            }
            // Shut down: the quick job finished inside the deadline, the endless one was
            // released for another worker, its attempt not counted.
            #expect(try await state(db, quick.jobID).state == "completed")
            let released = try await state(db, endless.jobID)
            #expect(released.state == "available")
            #expect(released.attempt == 0)
        }
    }

    @Test func periodicJobIsEnqueuedOncePerSlotAcrossSchedulers() async throws {
        try await TestServices.withRuntimeSchema { db, configuration in
            let periodic = PeriodicJob(name: "nightly-etl", schedule: .cron(try CronSchedule("0 2 * * *")), request: JobRequest(kind: "etl"))
            let clients = [PostgresClient(configuration: configuration), PostgresClient(configuration: configuration)]
            defer { clients.forEach { $0.shutdown() } }
            let schedulers = clients.map { JobScheduler(client: $0, jobs: [periodic]) }
            let evening = try #require(utc("2026-11-27T20:00:00Z"))
            // First sight: the schedule is registered for the next slot, nothing runs yet.
            #expect(try await schedulers[0].tick(now: evening).isEmpty)
            let slot = try await db.query("SELECT next_run_at FROM job_schedules WHERE name = 'nightly-etl'")[0].decode("next_run_at", as: Date.self)
            #expect(slot == utc("2026-11-28T02:00:00Z"))
            // At 02:00:30 both processes tick at once: exactly one enqueues.
            let lateNight = try #require(utc("2026-11-28T02:00:30Z"))
            let winners = try await withThrowingTaskGroup(of: [String].self) { group in
                for scheduler in schedulers { group.addTask { try await scheduler.tick(now: lateNight) } }
                return try await group.reduce(into: 0) { $0 += $1.count }
            }
            #expect(winners == 1)
            // Ticking again in the same slot enqueues nothing more.
            #expect(try await schedulers[1].tick(now: lateNight.addingTimeInterval(10)).isEmpty)
            let jobs = try await db.query("SELECT kind FROM jobs").map { try $0.decode("kind", as: String.self) }
            #expect(jobs == ["etl"])
            let next = try await db.query("SELECT next_run_at FROM job_schedules WHERE name = 'nightly-etl'")[0].decode("next_run_at", as: Date.self)
            #expect(next == utc("2026-11-29T02:00:00Z"))

            // Restarted with another schedule: the next slot follows it at once, not after the
            // old slot.
            let hourly = PeriodicJob(name: "nightly-etl", schedule: .cron(try CronSchedule("0 * * * *")), request: JobRequest(kind: "etl"))
            let changed = JobScheduler(client: db, jobs: [hourly], claimAfter: .zero)
            #expect(try await changed.tick(now: lateNight.addingTimeInterval(60)).isEmpty)
            let moved = try await db.query("SELECT next_run_at FROM job_schedules WHERE name = 'nightly-etl'")[0].decode("next_run_at", as: Date.self)
            #expect(moved == utc("2026-11-28T03:00:00Z"))
            #expect(try await changed.tick(now: try #require(utc("2026-11-28T03:00:05Z"))) == ["nightly-etl"])
        }
    }

    /// Two processes configured with different schedules for one job (a rolling change of
    /// `INTAKE_ETL_SCHEDULE`): both follow the one configured last, and its slots fire. Before,
    /// each tick of each process rewrote the row with its own schedule and a fresh next slot,
    /// the row flipped several times a second, and in minutes of a per-minute schedule no job
    /// was enqueued (hostile review, session 16).
    @Test func processesConfiguredDifferentlyFollowTheScheduleConfiguredLast() async throws {
        try await TestServices.withRuntimeSchema { db, configuration in
            let other = PostgresClient(configuration: configuration)
            defer { other.shutdown() }
            let nightly = PeriodicJob(name: "etl", schedule: .cron(try CronSchedule("0 2 * * *")), request: JobRequest(kind: "etl"))
            let everyMinute = PeriodicJob(name: "etl", schedule: .cron(try CronSchedule("* * * * *")), request: JobRequest(kind: "etl"))
            let start = try #require(utc("2026-11-27T20:00:10Z"))
            let old = JobScheduler(client: db, jobs: [nightly], configuredAt: start.addingTimeInterval(-3600))
            let new = JobScheduler(client: other, jobs: [everyMinute], configuredAt: start, claimAfter: .zero)
            var enqueued = 0
            // Three minutes of both ticking every 250 ms, the older process first each time.
            for step in 0..<(3 * 60 * 4) {
                let now = start.addingTimeInterval(Double(step) * 0.25)
                enqueued += try await old.tick(now: now).count
                enqueued += try await new.tick(now: now.addingTimeInterval(0.01)).count
            }
            #expect(enqueued == 3, "one job per minute's slot")
            let row = try await db.query("SELECT schedule FROM job_schedules WHERE name = 'etl'")[0]
            #expect(try row.decode("schedule", as: String.self) == "* * * * *")
            let keys = try await db.query("SELECT unique_key FROM jobs ORDER BY id").map { try $0.decode("unique_key", as: String.self) }
            #expect(Set(keys).count == keys.count, "each slot once: \(keys)")

            // The process configured later stops; the older one carries on with the schedule
            // in effect rather than its own.
            let later = start.addingTimeInterval(3 * 60)
            var alone = 0
            for step in 0..<(2 * 60 * 4) { alone += try await old.tick(now: later.addingTimeInterval(Double(step) * 0.25)).count }
            #expect(alone == 2)

            // A process just started, configured later still, changes nothing until it has run
            // a while (a `serve` that fails to start must not move the fleet's schedule); then it
            // takes over.
            let starting = JobScheduler(client: db, jobs: [nightly], configuredAt: start.addingTimeInterval(60), claimAfter: .seconds(600))
            _ = try await starting.tick(now: later.addingTimeInterval(140))
            #expect(try await db.query("SELECT schedule FROM job_schedules WHERE name = 'etl'")[0].decode("schedule", as: String.self) == "* * * * *")
            let newest = JobScheduler(client: db, jobs: [nightly], configuredAt: start.addingTimeInterval(60), claimAfter: .zero)
            #expect(try await newest.tick(now: later.addingTimeInterval(150)).isEmpty)
            #expect(try await db.query("SELECT schedule FROM job_schedules WHERE name = 'etl'")[0].decode("schedule", as: String.self) == "0 2 * * *")
        }
    }

    @Test func finishedJobsArePrunedAfterTheRetentionPeriod() async throws {
        try await TestServices.withRuntimeSchema { db, _ in
            try await WorkQueue.enqueueMany((0..<5).map { _ in JobRequest(kind: "old") }, using: db)
            try await db.query("UPDATE jobs SET state = 'completed', finalized_at = now() - interval '2 days' WHERE id IN (SELECT id FROM jobs LIMIT 3)")
            let pruned = try await JobPruner.job(client: db, retention: .seconds(86_400)).pruneOnce()
            #expect(pruned == 3)
            let left = try await db.query("SELECT count(*) AS n FROM jobs")[0].decode("n", as: Int.self)
            #expect(left == 2)
        }
    }
}

func utc(_ text: String) -> Date? {
    ISO8601DateFormatter().date(from: text)
}
