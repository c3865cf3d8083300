import Foundation
import Logging
import Tracing
import Metrics
import Synchronization

/// A handler for one kind of job. Returning an outcome finishes the attempt; throwing
/// retries it on the queue's `RetrySchedule`.
public typealias JobHandler = @Sendable (Job) async throws -> JobOutcome

/// Fetches and runs the jobs of one kind in one queue, at most `concurrency` at a time
/// (River's producer + executor). Its decisions are `StateMachine`'s; this type only runs the
/// actions, reading events one at a time from its own stream, so none of its state is
/// shared between tasks.
final class JobProducer: Sendable {
    enum Event: Sendable {
        case wake
        case fetched(requested: Int, jobs: [Job])
        case fetchFailed
        case finished(jobID: Int64)
        case heartbeat
        case stop
        /// The shutdown deadline passed: cancel running handlers and release their jobs.
        case abandon
    }

    struct Settings: Sendable {
        var kind: String
        var queue: String
        var concurrency: Int
        var lease: Duration
        var pollInterval: Duration
        var retrySchedule: RetrySchedule
    }

    let settings: Settings
    private let handler: JobHandler
    private let client: PostgresClient
    private let completer: JobCompleter
    private let owner: String
    private let logger: Logger
    private let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let runningJobs = Mutex<[Int64: Int]>([:])
    private let outcomes: Counter
    private let failures: Counter
    private let duration: Metrics.Timer

    init(settings: Settings, handler: @escaping JobHandler, client: PostgresClient, completer: JobCompleter, owner: String, logger: Logger) {
        self.settings = settings
        self.handler = handler
        self.client = client
        self.completer = completer
        self.owner = owner
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        outcomes = Counter(label: "intake_jobs_finished_total", dimensions: [("kind", settings.kind), ("outcome", "ok")])
        failures = Counter(label: "intake_jobs_finished_total", dimensions: [("kind", settings.kind), ("outcome", "error")])
        duration = Metrics.Timer(label: "intake_job_duration_seconds", dimensions: [("kind", settings.kind)])
    }

    func wake() { continuation.yield(.wake) }
    func stop() { continuation.yield(.stop) }
    func abandon() { continuation.yield(.abandon) }

    /// Runs until stopped and idle.
    func run() async {
        var machine = StateMachine(concurrency: settings.concurrency)
        await withDiscardingTaskGroup { group in
            group.addTask { await self.tick(every: self.settings.pollInterval, .wake) }
            group.addTask { await self.tick(every: self.settings.lease / 3, .heartbeat) }
            perform(machine.wakeUp(), in: &group)
            for await event in events {
                switch event {
                case .wake:
                    perform(machine.wakeUp(), in: &group)
                case .fetched(let requested, let jobs):
                    runningJobs.withLock { running in
                        for job in jobs { running[job.id] = job.attempt }
                    }
                    for job in jobs {
                        group.addTask { await self.execute(job) }
                    }
                    perform(machine.fetched(requested: requested, received: jobs.count), in: &group)
                case .fetchFailed:
                    perform(machine.fetchFailed(), in: &group)
                case .finished(let jobID):
                    runningJobs.withLock { _ = $0.removeValue(forKey: jobID) }
                    perform(machine.jobFinished(), in: &group)
                case .heartbeat:
                    let held = runningJobs.withLock { Array($0.keys) }
                    if !held.isEmpty { group.addTask { await self.extendLeases(held) } }
                case .stop:
                    machine.stop()
                case .abandon:
                    machine.stop()
                    let held = runningJobs.withLock { Array($0.keys) }
                    await release(held)
                    group.cancelAll()
                }
                if machine.stopping && machine.isIdle { break }
            }
            group.cancelAll()
        }
    }

    private func perform(_ action: StateMachine.Action, in group: inout DiscardingTaskGroup) {
        guard case .fetch(let limit) = action else { return }
        group.addTask {
            do {
                let jobs = try await self.fetch(limit: limit)
                self.continuation.yield(.fetched(requested: limit, jobs: jobs))
            } catch {
                self.logger.warning("fetching jobs failed", metadata: ["kind": "\(self.settings.kind)", "error": "\(error)"])
                self.continuation.yield(.fetchFailed)
            }
        }
    }

    private func fetch(limit: Int) async throws -> [Job] {
        let rows = try await client.query(
            JobQueries.fetch,
            [.text(settings.kind), .text(settings.queue), .int32(Int32(limit)), .text(owner), .int64(settings.lease.nanoseconds / 1_000_000)])
        return try rows.map { row in
            Job(
                id: try row.decode("id"), kind: settings.kind, queue: settings.queue, args: try row.decode("args"),
                attempt: try row.decode("attempt"), maxAttempts: try row.decode("max_attempts"),
                uniqueKey: try row.decode("unique_key"))
        }
    }

    private func execute(_ job: Job) async {
        let start = ContinuousClock.now
        let result: Result<JobOutcome, any Error>
        // A span per attempt, a root of its own (the job outlives whoever queued it).
        result = await withSpan("job \(job.kind)", context: .topLevel, ofKind: .consumer) { span in
            span.attributes["intake.job.id"] = job.id
            span.attributes["intake.job.attempt"] = job.attempt
            do {
                let outcome = try await handler(job)
                outcomes.increment()
                return .success(outcome)
            } catch {
                span.recordError(error)
                failures.increment()
                logger.info("job failed", metadata: ["kind": "\(job.kind)", "job_id": "\(job.id)", "attempt": "\(job.attempt)", "error": "\(error)"])
                return .failure(error)
            }
        }
        duration.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        let finalization = JobFinalization.decide(
            job, result: result, schedule: settings.retrySchedule, unit: Double.random(in: 0..<1))
        await completer.submit(finalization)
        continuation.yield(.finished(jobID: job.id))
    }

    private func extendLeases(_ ids: [Int64]) async {
        do {
            try await client.query(JobQueries.extendLeases, [.int64Array(ids), .text(owner), .int64(settings.lease.nanoseconds / 1_000_000)])
        } catch {
            logger.warning("extending job leases failed", metadata: ["kind": "\(settings.kind)", "error": "\(error)"])
        }
    }

    private func release(_ ids: [Int64]) async {
        guard !ids.isEmpty else { return }
        do {
            let released = try await client.query(JobQueries.release, [.int64Array(ids), .text(owner)])
            logger.notice("released unfinished jobs at shutdown", metadata: ["kind": "\(settings.kind)", "count": "\(released.count)"])
        } catch {
            logger.warning("releasing jobs failed; the rescuer will retry them when their leases expire", metadata: ["error": "\(error)"])
        }
    }

    private func tick(every interval: Duration, _ event: Event) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            continuation.yield(event)
        }
    }
}
