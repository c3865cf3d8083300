import Logging
import Metrics
import ServiceLifecycle

/// Makes jobs whose lease expired runnable again (River's rescuer): the worker that held
/// them died or lost its database connection. Jobs out of attempts are discarded instead.
/// Any number of processes may run one; the `UPDATE` is idempotent. Each pass also reports
/// the queue's depth per state (`intake_jobs{state=...}`).
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

    /// Jobs waiting or running, by state, as gauges.
    public func reportDepth() async throws {
        let rows = try await client.query(
            "SELECT state, count(*)::int8 AS n FROM jobs WHERE state IN ('available', 'retryable', 'running') GROUP BY state")
        var counts = ["available": 0, "retryable": 0, "running": 0]
        for row in rows { counts[try row.decode("state")] = try row.decode("n") }
        for (state, count) in counts {
            Gauge(label: "intake_jobs", dimensions: [("state", state)]).record(count)
        }
    }

    public func run() async throws {
        try await PeriodicTask.run(every: interval) {
            do {
                try await rescueOnce()
                try await reportDepth()
            } catch {
                logger.warning("rescuing jobs failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Runs `body` every `interval` until graceful shutdown or cancellation.
public enum PeriodicTask {
    public static func run(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async throws {
        // Graceful shutdown cancels the loop, which also cuts the current sleep short.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await body()
                try await Task.sleep(for: interval)
            }
        }
    }
}
