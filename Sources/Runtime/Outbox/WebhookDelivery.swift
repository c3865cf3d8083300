import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Runs webhook delivery jobs: POSTs the event to the subscriber with
/// `Content-Type: application/cloudevents+json`. A 2xx completes the job; a timeout, a
/// connection error, 408, 429 or a 5xx retries it with backoff; any other status is the
/// subscriber refusing the event, and the job is discarded with the status kept.
public struct WebhookDelivery: Sendable {
    public static let jobKind = "intake.webhook.deliver"
    public static let queue = "webhooks"

    struct Args: Decodable {
        var url: String
        var event: String
    }

    /// A subscriber answered with a status worth retrying.
    struct RetryableStatus: Error, CustomStringConvertible {
        var url: String
        var status: UInt
        var description: String { "webhook \(url) answered \(status)" }
    }

    let http: HTTPClient
    let timeout: Duration

    public init(http: HTTPClient = .shared, timeout: Duration = .seconds(10)) {
        self.http = http
        self.timeout = timeout
    }

    /// Registers the delivery handler on `workQueue`.
    public func register(on workQueue: WorkQueue, concurrency: Int = 16) {
        workQueue.register(kind: Self.jobKind, queue: Self.queue, concurrency: concurrency) { job in
            try await deliver(job.decodeArgs(Args.self))
        }
    }

    func deliver(_ args: Args) async throws -> JobOutcome {
        var request = HTTPClientRequest(url: args.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
        request.headers.add(name: "User-Agent", value: "intake-webhooks")
        request.body = .bytes(ByteBuffer(string: args.event))
        let response = try await http.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
        let status = response.status.code
        _ = try? await response.body.collect(upTo: 64 * 1024)
        switch status {
        case 200..<300:
            return .completed
        case 408, 429, 500...:
            throw RetryableStatus(url: args.url, status: status)
        default:
            return .discard(reason: "webhook \(args.url) refused the event with \(status)")
        }
    }
}
