/// The connection of a `PostgresClient.withTransaction` body; its statements run inside the
/// transaction.
public final class PostgresTransaction: PostgresSession, @unchecked Sendable {
    // `@unchecked Sendable`: adds no stored state to `PostgresSession`.

    /// The isolation level of a transaction.
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    func begin(_ level: IsolationLevel) async throws {
        try await query("BEGIN ISOLATION LEVEL \(level.rawValue)")
    }

    /// Commits, or throws if the transaction cannot commit. A transaction in which a statement
    /// failed (and the body caught the error) is rolled back: Postgres would answer such a
    /// COMMIT with a silent ROLLBACK, and the caller would believe its writes landed.
    func commit() async throws {
        try await lease.run { try $0.commit() }
    }

    /// Rolls back after the body threw. If even that fails, the connection is closed so that
    /// the pool never hands out a session stuck in a transaction.
    func rollbackAfterError() async {
        do {
            try await lease.run { connection in
                do {
                    try connection.simpleQuery("ROLLBACK")
                } catch {
                    connection.close()
                }
            }
        } catch {
            // The thread is gone (shutdown); nothing left to roll back on.
        }
    }
}
