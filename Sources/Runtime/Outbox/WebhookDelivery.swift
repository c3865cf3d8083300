import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Runs webhook delivery jobs: POSTs the event to the subscriber with
/// `Content-Type: application/cloudevents+json`. A 2xx completes the job; anything else — a
/// timeout, a connection error, any other status — retries it with backoff (API.md:
/// "retried with backoff"), until the job's attempts run out and the queue discards it with
/// the last answer kept. Redirects are not followed: a 301/302/303 would turn the POST into
/// a GET without the event, whose 200 completed the job with nothing delivered (hostile
/// review, session 13); a 3xx is an answer like a 5xx. The whole exchange, the response's
/// body included, is bounded by `timeout`: a subscriber that stalls mid-body held a delivery
/// slot and a connection for ever.
public struct WebhookDelivery: Sendable {
    public static let jobKind = "intake.webhook.deliver"
    public static let queue = "webhooks"

    struct Args: Decodable {
        var url: String
        var event: String
    }

    /// A subscriber answered with a status other than 2xx.
    struct UndeliveredStatus: Error, CustomStringConvertible {
        var url: String
        var status: UInt
        var description: String { "webhook \(url) answered \(status)" }
    }

    /// The subscriber did not finish its answer within the delivery's time limit.
    struct TimedOut: Error, CustomStringConvertible {
        var url: String
        var timeout: Duration
        var description: String { "webhook \(url) did not answer within \(timeout)" }
    }

    /// Webhooks' own client: redirects are answers, not instructions to follow. Lives as long
    /// as the process (never shut down, like `HTTPClient.shared`).
    static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    let http: HTTPClient
    let timeout: Duration

    public init(timeout: Duration = .seconds(10)) {
        self.http = Self.client
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
        let deadline = ContinuousClock.now + timeout
        guard let response = try await Self.within(timeout, { [http, timeout, request] in try await http.execute(request, timeout: .nanoseconds(timeout.nanoseconds)) })
        else { throw TimedOut(url: args.url, timeout: timeout) }
        let status = response.status.code
        // The status is the answer. The body is read (up to 64 KiB, until the deadline) only
        // so that the connection can serve the next delivery: one that is longer, broken or
        // stalled changes nothing about the event, and the connection is dropped instead.
        do {
            _ = try await Self.within(deadline - ContinuousClock.now) { try await response.body.collect(upTo: 64 * 1024) }
        } catch {}
        guard (200..<300).contains(status) else { throw UndeliveredStatus(url: args.url, status: status) }
        return .completed
    }

    /// `body`'s result, or nil when `limit` passes first (`body` is then cancelled).
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        guard limit > .zero else { return nil }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }
}
