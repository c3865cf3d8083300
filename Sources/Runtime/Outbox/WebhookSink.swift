import Foundation

/// Delivers events to webhook subscribers through the work queue: publishing a batch only
/// enqueues one delivery job per event and URL (one statement), so a slow or dead subscriber
/// never holds up the relay or the other sinks. `WebhookDelivery` runs the jobs: an HTTP POST
/// in CloudEvents structured mode, retried with the queue's backoff.
///
/// Retries mean a subscriber may receive an event more than once, and a retried event may
/// arrive after a later one: subscribers deduplicate by event id and order by `time`.
public struct WebhookSink: OutboxSink {
    public let client: PostgresClient
    public let urls: [String]

    public init(client: PostgresClient, urls: [String]) {
        self.client = client
        self.urls = urls
    }

    public func publish(_ records: [OutboxRecord]) async throws {
        guard !urls.isEmpty, !records.isEmpty else { return }
        var requests: [JobRequest] = []
        requests.reserveCapacity(records.count * urls.count)
        for record in records {
            for url in urls {
                var args = "{\"url\":"
                JSONText.appendString(url, to: &args)
                args += ",\"event\":"
                JSONText.appendString(record.event, to: &args)
                args += "}"
                requests.append(JobRequest(kind: WebhookDelivery.jobKind, argsJSON: args, queue: WebhookDelivery.queue, maxAttempts: 20))
            }
        }
        try await WorkQueue.enqueueMany(requests, using: client)
    }
}
