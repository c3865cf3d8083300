/// Deletes published outbox rows past retention, as a recurring work-queue job.
public enum OutboxPruner {
    public static let jobKind = "intake.outbox.prune"

    public static func job(client: PostgresClient, retention: Duration = .seconds(86_400), batchSize: Int = 10_000) -> RetentionJob {
        RetentionJob(kind: jobKind, client: client, sql: OutboxQueries.prune, retention: retention, batchSize: batchSize)
    }
}
