/// Every failure of the Postgres client: a server error (with its SQLSTATE), a lost or
/// impossible connection, an exhausted pool, or a value that cannot be encoded or decoded.
///
/// Callers branch on `code`; new codes can be added without breaking them.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in terms a caller can act on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case uniqueViolation, checkViolation, foreignKeyViolation, notNullViolation
            case serializationFailure, deadlockDetected, lockNotAvailable, queryCanceled
            case sqlError, connectionLost, unavailable, poolTimeout, poolShutDown
            case invalidConfiguration, encoding, decoding, protocolViolation, copyFailed
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// SQLSTATE 23505; `constraint` names the index.
        public static let uniqueViolation = Code(.uniqueViolation)
        /// SQLSTATE 23514; `constraint` names the check.
        public static let checkViolation = Code(.checkViolation)
        /// SQLSTATE 23503.
        public static let foreignKeyViolation = Code(.foreignKeyViolation)
        /// SQLSTATE 23502.
        public static let notNullViolation = Code(.notNullViolation)
        /// SQLSTATE 40001: retry the whole transaction.
        public static let serializationFailure = Code(.serializationFailure)
        /// SQLSTATE 40P01: retry the whole transaction.
        public static let deadlockDetected = Code(.deadlockDetected)
        /// SQLSTATE 55P03 (`NOWAIT`, `lock_timeout`).
        public static let lockNotAvailable = Code(.lockNotAvailable)
        /// SQLSTATE 57014 (`statement_timeout`, cancel).
        public static let queryCanceled = Code(.queryCanceled)
        /// Any other error the server reported; see `sqlState`.
        public static let sqlError = Code(.sqlError)
        /// The connection broke while a statement was in flight: its outcome is unknown.
        public static let connectionLost = Code(.connectionLost)
        /// No connection could be made: the server is down or unreachable.
        public static let unavailable = Code(.unavailable)
        /// Every pooled connection stayed busy for the whole lease timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// The client was shut down.
        public static let poolShutDown = Code(.poolShutDown)
        /// The URL or another setting is invalid.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// A parameter could not be encoded.
        public static let encoding = Code(.encoding)
        /// A column could not be decoded as the requested type (or was NULL).
        public static let decoding = Code(.decoding)
        /// libpq answered in a way the client did not expect.
        public static let protocolViolation = Code(.protocolViolation)
        /// A `COPY ... TO STDOUT` could not be written to its file, or the statement was not one.
        public static let copyFailed = Code(.copyFailed)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The server's message, or the client's own.
    public var message: String
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: String?
    public var detail: String?
    /// The violated constraint, for integrity errors.
    public var constraint: String?
    /// In a pipeline, the index of the statement that failed.
    public var statementIndex: Int?
    /// For `connectionLost` during a pipeline: the server process that was running it. Its
    /// transaction may still be running (or committing) there; `PostgresClient.settle`
    /// ends it so that its outcome is final before anyone looks.
    public var backend: PostgresBackend?

    public init(
        code: Code, message: String, sqlState: String? = nil, detail: String? = nil,
        constraint: String? = nil, statementIndex: Int? = nil
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.constraint = constraint
        self.statementIndex = statementIndex
    }

    /// Whether running the same transaction again may succeed.
    public var isRetryable: Bool {
        code == .serializationFailure || code == .deadlockDetected
    }

    /// Whether the database could not be reached at all (callers answer "unavailable").
    public var isUnavailable: Bool {
        code == .unavailable || code == .poolTimeout || code == .connectionLost
    }

    public var description: String {
        var text = "postgres \(code)"
        if let sqlState { text += " [\(sqlState)]" }
        text += ": \(message)"
        if let constraint { text += " (constraint \(constraint))" }
        if let statementIndex { text += " (statement \(statementIndex))" }
        if let detail { text += " — \(detail)" }
        return text
    }

    static func code(forSQLState state: String) -> Code {
        switch state {
        case "23505": .uniqueViolation
        case "23514": .checkViolation
        case "23503": .foreignKeyViolation
        case "23502": .notNullViolation
        case "40001": .serializationFailure
        case "40P01": .deadlockDetected
        case "55P03": .lockNotAvailable
        case "57014": .queryCanceled
        // admin_shutdown, crash_shutdown, cannot_connect_now: the server is going away.
        case "57P01", "57P02", "57P03": .connectionLost
        default: state.hasPrefix("08") ? .connectionLost : .sqlError
        }
    }
}
