/// The writes of one command (an order's rows, its outbox event, its jobs...), committed
/// together or not at all.
public struct WriteSet: Sendable, Hashable {
    public var statements: [PostgresStatement]

    public init(_ statements: [PostgresStatement] = []) {
        self.statements = statements
    }

    public mutating func append(_ statement: PostgresStatement) {
        statements.append(statement)
    }

    public mutating func append(contentsOf other: WriteSet) {
        statements.append(contentsOf: other.statements)
    }
}

/// Why a write set was not committed, apart from its own SQL errors (which arrive as
/// `PostgresError`).
public struct GroupCommitError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// Too many write sets wait already; retry later (HTTP 503 with Retry-After).
        public static let overloaded = Code("overloaded")
        /// The writer has stopped; nothing more is accepted.
        public static let shutDown = Code("shutDown")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public var description: String { "group commit \(code): \(message)" }
}
