/// Deletes published outbox rows older than a retention period. Runs as a job on the work
/// queue (`register(on:)` and `periodicJob`), so one process does it per slot.
public struct OutboxPruner: Sendable {
    public static let jobKind = "intake.outbox.prune"

    let client: PostgresClient
    let retention: Duration
    let batchSize: Int

    public init(client: PostgresClient, retention: Duration = .seconds(86_400), batchSize: Int = 10_000) {
        self.client = client
        self.retention = retention
        self.batchSize = batchSize
    }

    /// Deletes every published row past retention; returns how many.
    @discardableResult
    public func pruneOnce() async throws -> Int {
        try await client.deleteInBatches(OutboxQueries.prune, olderThan: retention, batchSize: batchSize)
    }

    /// Registers the pruning job's handler.
    public func register(on queue: WorkQueue) {
        queue.register(kind: Self.jobKind, concurrency: 1) { _ in
            try await pruneOnce()
            return .completed
        }
    }

    /// Prunes every hour, on the hour.
    public static func periodicJob(schedule: PeriodicJob.Schedule = .every(.seconds(3600))) -> PeriodicJob {
        PeriodicJob(name: jobKind, schedule: schedule, request: JobRequest(kind: jobKind, maxAttempts: 3))
    }
}
