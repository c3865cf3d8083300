/// Every failure of the Redis client: an error reply, a lost or impossible connection, an
/// exhausted pool, a timeout, or a bad URL. Callers branch on `code`.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case errorReply, connectionLost, unavailable, timeout, poolTimeout, poolShutDown
            case invalidConfiguration, unexpectedReply
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server answered with an error (`-ERR ...`, `-WRONGTYPE ...`); see `message`.
        public static let errorReply = Code(.errorReply)
        /// The connection broke while a command was in flight: its outcome is unknown.
        public static let connectionLost = Code(.connectionLost)
        /// No connection could be made.
        public static let unavailable = Code(.unavailable)
        /// The server did not answer within the configured timeout.
        public static let timeout = Code(.timeout)
        /// Every pooled connection stayed busy for the whole lease timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// The client was shut down.
        public static let poolShutDown = Code(.poolShutDown)
        /// The URL or another setting is invalid.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A reply had a shape the caller did not expect.
        public static let unexpectedReply = Code(.unexpectedReply)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The error reply's first word (`ERR`, `WRONGTYPE`, `NOSCRIPT`...), for error replies.
    public var replyPrefix: String? {
        guard code == .errorReply else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// Whether Redis cannot serve now (callers degrade or answer "unavailable"): it could not
    /// be reached, or it answered with the error of a passing state rather than of the command
    /// (`transientReplyPrefixes`: still loading its data after a restart, out of memory, a
    /// replica or a blocked server) — an outage for the caller either way, never its fault.
    public var isUnavailable: Bool {
        code == .unavailable || code == .connectionLost || code == .timeout || code == .poolTimeout
            || replyPrefix.map(Self.transientReplyPrefixes.contains) == true
    }

    /// Whether `error` is a `RedisError` that `isUnavailable`: what opens a `CircuitBreaker`
    /// in front of Redis (a cancelled caller or a command's own error does not).
    public static func isUnavailable(_ error: any Error) -> Bool {
        (error as? RedisError)?.isUnavailable ?? false
    }

    /// Error replies that describe the server's state, not the command (Redis's shared
    /// `loadingerr`, `oomerr`, `roslaveerr`, `masterdownerr`, `bgsaveerr`, `noreplicaserr` and
    /// `slowscripterr`, and Redis Cluster's `TRYAGAIN`/`CLUSTERDOWN`): the same command
    /// succeeds once the state has passed.
    static let transientReplyPrefixes: Set<String> = [
        "LOADING", "OOM", "READONLY", "MASTERDOWN", "MISCONF", "BUSY", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN",
    ]

    public var description: String { "redis \(code): \(message)" }
}
