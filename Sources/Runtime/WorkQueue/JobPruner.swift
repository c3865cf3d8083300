/// Deletes finished jobs (completed, discarded, cancelled) past retention, in bounded
/// batches so that a large backlog never holds long locks: a recurring job on the queue
/// itself, like every other retention (`RetentionJob`), one process at a time.
public enum JobPruner {
    public static let jobKind = "intake.jobs.prune"

    public static func job(client: PostgresClient, retention: Duration = .seconds(7 * 86_400), batchSize: Int = 10_000) -> RetentionJob {
        RetentionJob(kind: jobKind, client: client, sql: JobQueries.prune, retention: retention, batchSize: batchSize)
    }
}
