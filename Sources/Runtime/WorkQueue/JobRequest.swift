import Foundation

/// A job to enqueue.
public struct JobRequest: Sendable, Hashable {
    public var kind: String
    /// JSON text of the arguments.
    public var args: String
    public var queue: String
    /// Lower runs first.
    public var priority: Int16
    /// Not before this time; nil means now.
    public var runAt: Date?
    public var maxAttempts: Int
    /// While a job with this key is available, running or retryable, enqueueing another
    /// returns the existing one instead.
    public var uniqueKey: String?

    public init(
        kind: String, argsJSON: String = "{}", queue: String = "default", priority: Int16 = 1, runAt: Date? = nil,
        maxAttempts: Int = 25, uniqueKey: String? = nil
    ) {
        self.kind = kind
        self.args = argsJSON
        self.queue = queue
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
    }

    /// A request whose arguments are `args` encoded as JSON.
    public init<Args: Encodable>(
        kind: String, args: Args, queue: String = "default", priority: Int16 = 1, runAt: Date? = nil,
        maxAttempts: Int = 25, uniqueKey: String? = nil
    ) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        self.init(
            kind: kind, argsJSON: String(decoding: try encoder.encode(args), as: UTF8.self), queue: queue,
            priority: priority, runAt: runAt, maxAttempts: maxAttempts, uniqueKey: uniqueKey)
    }
}

/// What enqueueing one job did.
public struct EnqueueResult: Sendable, Hashable {
    public var jobID: Int64
    /// True when a unique key matched an unfinished job, whose id this is.
    public var duplicate: Bool
}
