extension PostgresClient {
    /// Makes the outcome of a transaction whose connection was lost final: terminates the
    /// server process that ran it (`PostgresError.backendPID`) and waits until it is gone.
    /// Before that, a query can find the transaction's writes absent only because it has not
    /// committed *yet*; afterwards, what is committed is all there will ever be. Throws while
    /// the database cannot be reached (callers retry); returns at once for a process that
    /// already ended (a server restart ends them all).
    public func settle(backendPID: Int32) async throws {
        try await query("SELECT pg_terminate_backend($1)", [.int32(backendPID)])
        while try await !query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [.int32(backendPID)]).isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
