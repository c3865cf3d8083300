import Logging

/// A pool of libpq connections, each driven by its own thread, with an async API.
///
/// ```swift
/// let client = try PostgresClient(configuration: .init(url: "postgres://localhost/intake"))
/// let rows = try await client.query("SELECT id FROM orders WHERE user_id = $1", [.uuid(user)])
/// for row in rows { let id = try row.decode("id", as: UUID.self) }
/// ```
///
/// Call `shutdown()` when done: it closes the connections and stops their threads.
public final class PostgresClient: Sendable {
    public let configuration: PostgresConfiguration
    let pool: ConnectionPool<PostgresConnection>
    let logger: Logger

    /// `name` labels the pool's metrics (`intake_pool_*{pool="…"}`): give each client its own.
    public init(configuration: PostgresConfiguration, name: String = "postgres", logger: Logger = Logger(label: "intake.postgres")) {
        self.configuration = configuration
        self.logger = logger
        let leaseTimeout = configuration.leaseTimeout
        self.pool = ConnectionPool(
            name: name,
            size: configuration.poolSize,
            leaseTimeout: leaseTimeout,
            makeConnection: { PostgresConnection(configuration: configuration) },
            timeoutError: {
                PostgresError(code: .poolTimeout, message: "no database connection became free within \(leaseTimeout)")
            },
            shutdownError: { PostgresError(code: .poolShutDown, message: "the database client has been shut down") })
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws -> PostgresRows {
        try await pool.withLease { lease in
            try await lease.run { try $0.query(sql, parameters) }
        }
    }

    /// Runs a script of statements without parameters (simple protocol), as for migrations.
    @discardableResult
    public func execute(script sql: String) async throws -> PostgresRows {
        try await pool.withLease { lease in
            try await lease.run { try $0.simpleQuery(sql) }
        }
    }

    /// Runs `statements` in one round trip (libpq pipeline mode) and one transaction: either
    /// every statement takes effect or none does. Returns each statement's rows, in order.
    public func pipeline(_ statements: [PostgresStatement]) async throws -> [PostgresRows] {
        try await pool.withLease { lease in
            try await lease.run { try $0.pipeline(statements) }
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    public func withTransaction<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ level: PostgresTransaction.IsolationLevel = .readCommitted,
        _ body: (PostgresTransaction) async throws -> T
    ) async throws -> T {
        try await pool.withLease { lease in
            let transaction = PostgresTransaction(lease: lease)
            try await transaction.begin(level)
            let result: T
            do {
                result = try await body(transaction)
            } catch {
                await transaction.rollbackAfterError()
                throw error
            }
            try await transaction.commit()
            return result
        }
    }

    /// Runs `body` with one connection held for its whole duration (session state such as
    /// advisory locks survives between its statements).
    @discardableResult
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresSession) async throws -> T
    ) async throws -> T {
        try await pool.withLease { lease in
            try await body(PostgresSession(lease: lease))
        }
    }

    /// A dedicated connection that `LISTEN`s on `channels` and reconnects by itself.
    public func listener(channels: [String]) -> PostgresListener {
        PostgresListener(configuration: configuration, channels: channels, logger: logger)
    }

    /// Closes idle connections now and busy ones as they are released; waiting callers fail
    /// with `poolShutDown`.
    public func shutdown() {
        pool.shutdown()
    }
}
