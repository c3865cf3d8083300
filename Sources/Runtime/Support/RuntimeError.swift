/// Why the runtime's own machinery (mailboxes, group commit) refused work. Database and Redis
/// failures arrive as `PostgresError` and `RedisError`.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A bounded queue (a mailbox, the group-commit queue) is full: refuse at once and let
        /// the caller retry later (HTTP 503 with Retry-After).
        public static let overloaded = Code("overloaded")
        /// The component has been shut down; nothing more is accepted.
        public static let shutDown = Code("shutDown")
        /// A write found the state it was decided on changed underneath it (another process
        /// wrote first): nothing was changed; decide again from what is there now.
        public static let conflict = Code("conflict")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
