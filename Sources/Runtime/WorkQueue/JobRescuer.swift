import Logging
import Metrics
import ServiceLifecycle

/// Makes jobs whose lease expired runnable again (River's rescuer): the worker that held
/// them died or lost its database connection. Jobs out of attempts are discarded instead.
/// Any number of processes may run one; the `UPDATE` is idempotent.
public struct JobRescuer: Service {
    let client: PostgresClient
    let interval: Duration
    let logger: Logger
    private let rescued = Counter(label: "intake_jobs_rescued_total")

    public init(client: PostgresClient, interval: Duration = .seconds(5), logger: Logger = Logger(label: "intake.jobs")) {
        self.client = client
        self.interval = interval
        self.logger = logger
    }

    /// One pass; returns the ids of the jobs it rescued.
    @discardableResult
    public func rescueOnce() async throws -> [Int64] {
        let rows = try await client.query(JobQueries.rescue)
        let ids = try rows.map { try $0.decode("id", as: Int64.self) }
        if !ids.isEmpty {
            rescued.increment(by: ids.count)
            logger.notice("rescued jobs whose lease expired", metadata: ["count": "\(ids.count)"])
        }
        return ids
    }

    public func run() async throws {
        try await PeriodicTask.run(every: interval) {
            do {
                try await rescueOnce()
            } catch {
                logger.warning("rescuing jobs failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Runs `body` every `interval` until graceful shutdown or cancellation.
enum PeriodicTask {
    static func run(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async throws {
        // Graceful shutdown cancels the loop, which also cuts the current sleep short.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await body()
                try await Task.sleep(for: interval)
            }
        }
    }
}
