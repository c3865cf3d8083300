/// A recurring work-queue job that deletes a table's rows past their retention, in batches,
/// one process at a time. `sql` is a `DELETE` taking the retention in milliseconds as `$1`
/// and the batch size as `$2` (see `OutboxQueries.prune`).
public struct RetentionJob: Sendable {
    public let kind: String
    let client: PostgresClient
    let sql: String
    let retention: Duration
    let batchSize: Int

    public init(kind: String, client: PostgresClient, sql: String, retention: Duration, batchSize: Int = 10_000) {
        self.kind = kind
        self.client = client
        self.sql = sql
        self.retention = retention
        self.batchSize = batchSize
    }

    /// Deletes every row past retention; returns how many.
    @discardableResult
    public func pruneOnce() async throws -> Int {
        try await client.deleteInBatches(sql, olderThan: retention, batchSize: batchSize)
    }

    /// Registers the job's handler.
    public func register(on queue: WorkQueue) {
        queue.register(kind: kind, concurrency: 1) { _ in
            try await pruneOnce()
            return .completed
        }
    }

    /// The schedule to give a `JobScheduler`: every hour by default.
    public func periodicJob(schedule: PeriodicJob.Schedule = .every(.seconds(3600))) -> PeriodicJob {
        PeriodicJob(name: kind, schedule: schedule, request: JobRequest(kind: kind, maxAttempts: 3))
    }
}
