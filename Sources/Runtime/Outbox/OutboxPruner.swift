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
        var total = 0
        while true {
            let deleted = try await client.query(
                OutboxQueries.prune, [.int64(retention.nanoseconds / 1_000_000), .int32(Int32(clamping: batchSize))]
            ).affectedRows
            total += deleted
            if deleted < batchSize { return total }
        }
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
