import Logging
import ServiceLifecycle
import Synchronization

/// A process's queue workers: one producer per registered kind, a shared completer, and a
/// listener that wakes the producer of a kind when a job of that kind is enqueued.
///
/// Register handlers, then run it as a `Service`. On graceful shutdown producers stop
/// fetching, running jobs get `shutdownDeadline` to finish, the rest are cancelled and
/// released (available again at once, attempt not counted), and completions are flushed.
/// Run `JobRescuer` and `JobScheduler` beside it.
public final class WorkQueue: Service, Sendable {
    private struct Registration: Sendable {
        var kind: String
        var queue: String
        var concurrency: Int
        var handler: JobHandler
    }

    public let configuration: WorkQueueConfiguration
    private let client: PostgresClient
    private let logger: Logger
    private let registrations = Mutex<[Registration]>([])
    private let started = Mutex(false)
    private let completerInstance: Mutex<JobCompleter?> = Mutex(nil)

    public init(client: PostgresClient, configuration: WorkQueueConfiguration = WorkQueueConfiguration(), logger: Logger = Logger(label: "intake.jobs")) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs jobs of `kind` in `queue` with `handler`, at most `concurrency` at once in this
    /// process. Register before `run()`.
    public func register(kind: String, queue: String = "default", concurrency: Int = 10, handler: @escaping JobHandler) {
        precondition(concurrency > 0, "concurrency must be positive")
        registrations.withLock { $0.append(Registration(kind: kind, queue: queue, concurrency: concurrency, handler: handler)) }
    }

    /// Enqueues one job, alone (its own transaction) and wakes the workers of its kind.
    @discardableResult
    public func enqueue(_ request: JobRequest) async throws -> EnqueueResult {
        try await WorkQueue.enqueue(request, using: client)
    }

    /// Enqueues one job on `client`, in its own transaction.
    @discardableResult
    public static func enqueue(_ request: JobRequest, using client: PostgresClient) async throws -> EnqueueResult {
        let results = try await client.pipeline([JobQueries.insert(request), JobQueries.notify(kinds: [request.kind])])
        return try enqueueResult(results[0])
    }

    /// Enqueues one job inside the caller's transaction: it exists if and only if the
    /// transaction commits.
    @discardableResult
    public static func enqueue(_ request: JobRequest, in transaction: PostgresTransaction) async throws -> EnqueueResult {
        let results = try await transaction.pipeline([JobQueries.insert(request), JobQueries.notify(kinds: [request.kind])])
        return try enqueueResult(results[0])
    }

    /// Enqueues many jobs (no unique keys) in one statement and one transaction.
    public static func enqueueMany(_ requests: [JobRequest], using client: PostgresClient) async throws {
        guard !requests.isEmpty else { return }
        _ = try await client.pipeline([JobQueries.insertMany(requests), JobQueries.notify(kinds: requests.map(\.kind))])
    }

    private static func enqueueResult(_ rows: PostgresRows) throws -> EnqueueResult {
        guard let row = rows.first else {
            // A conflicting job finished between the insert's check and the lookup: rare;
            // the caller may simply enqueue again.
            throw PostgresError(code: .serializationFailure, message: "unique job changed state while enqueueing; retry")
        }
        return EnqueueResult(jobID: try row.decode("id"), duplicate: try row.decode("duplicate"))
    }

    /// Batches of completions written so far (for tests and benchmarks).
    public var completionBatchesWritten: Int { completerInstance.withLock { $0?.batchesWritten ?? 0 } }

    /// Finished attempts (completed, retried or discarded) written back so far.
    public var finalizationsWritten: Int { completerInstance.withLock { $0?.finalizationsWritten ?? 0 } }

    public func run() async throws {
        let alreadyStarted = started.withLock { started in
            defer { started = true }
            return started
        }
        precondition(!alreadyStarted, "a WorkQueue runs once")
        let completer = JobCompleter(client: client, logger: logger)
        completerInstance.withLock { $0 = completer }
        let producers = registrations.withLock { $0 }.map { registration in
            JobProducer(
                settings: .init(
                    kind: registration.kind, queue: registration.queue, concurrency: registration.concurrency,
                    lease: configuration.lease, pollInterval: configuration.pollInterval,
                    retrySchedule: configuration.retrySchedule),
                handler: registration.handler, client: client, completer: completer,
                owner: configuration.workerName, logger: logger)
        }
        let byKind = Dictionary(grouping: producers, by: \.settings.kind)
        logger.info("work queue starting", metadata: ["kinds": "\(byKind.keys.sorted())", "worker": "\(configuration.workerName)"])

        let listener = Task {
            for await event in self.client.listener(channels: [JobQueries.channel]) {
                switch event {
                case .listening: producers.forEach { $0.wake() }
                case .notification(let notification): byKind[notification.payload]?.forEach { $0.wake() }
                }
            }
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await completer.run() }
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { producerGroup in
                    for producer in producers {
                        producerGroup.addTask { await producer.run() }
                    }
                }
            } onGracefulShutdown: {
                producers.forEach { $0.stop() }
                let deadline = self.configuration.shutdownDeadline
                Task {
                    try? await Task.sleep(for: deadline)
                    producers.forEach { $0.abandon() }
                }
            }
            // Every handler has finished or been released: flush completions and stop.
            listener.cancel()
            completer.stop()
        }
        logger.info("work queue stopped")
    }
}
