import Logging
import ServiceLifecycle

/// Deletes finished jobs (completed, discarded, cancelled) once they are older than the
/// retention period, in bounded batches so that a large backlog never holds long locks.
public struct JobPruner: Service {
    let client: PostgresClient
    let retention: Duration
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(
        client: PostgresClient, retention: Duration = .seconds(7 * 86_400), interval: Duration = .seconds(60),
        batchSize: Int = 10_000, logger: Logger = Logger(label: "intake.jobs")
    ) {
        self.client = client
        self.retention = retention
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Deletes everything past retention; returns how many rows.
    @discardableResult
    public func pruneOnce() async throws -> Int {
        try await client.deleteInBatches(JobQueries.prune, olderThan: retention, batchSize: batchSize)
    }

    public func run() async throws {
        try await PeriodicTask.run(every: interval) {
            do {
                let pruned = try await pruneOnce()
                if pruned > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(pruned)"]) }
            } catch {
                logger.warning("pruning jobs failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
