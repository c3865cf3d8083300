/// One pooled connection held for a while: its statements run in order on the same server
/// session, so transactions and session locks span them.
public class PostgresSession: @unchecked Sendable {
    // `@unchecked Sendable`: the only stored property is the Sendable lease; subclasses add
    // none. The class is non-final only so that `PostgresTransaction` can share the API.
    let lease: ConnectionPool<PostgresConnection>.Lease

    init(lease: ConnectionPool<PostgresConnection>.Lease) {
        self.lease = lease
    }

    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws -> PostgresRows {
        try await lease.run { try $0.query(sql, parameters) }
    }

    /// `query` for a statement meant to wait (a blocking advisory lock behind another
    /// process's long work): the server's silence is bounded by `timeout`, not `ioTimeout`.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = [], waitingUpTo timeout: Duration) async throws -> PostgresRows {
        try await lease.run { try $0.query(sql, parameters, timeout: timeout) }
    }

    @discardableResult
    public func execute(script sql: String) async throws -> PostgresRows {
        try await lease.run { try $0.simpleQuery(sql) }
    }

    /// Pipelined statements in one round trip. Inside a transaction they join it.
    public func pipeline(_ statements: [PostgresStatement]) async throws -> [PostgresRows] {
        try await lease.run { try $0.pipeline(statements) }
    }

    /// The server process serving this session.
    public func backendPID() async throws -> Int32 {
        try await lease.run { $0.backendPID }
    }
}
