extension PostgresClient {
    /// Makes the outcome of a transaction whose connection was lost final: terminates the
    /// server process that ran it (`PostgresError.backend`) and waits until it is gone.
    /// Before that, a query can find the transaction's writes absent only because it has not
    /// committed *yet*; afterwards, what is committed is all there will ever be. Throws while
    /// the database cannot be reached (callers retry); returns at once for a process that
    /// already ended. The process is named by pid *and* start time: after a restart or a
    /// failover its pid may belong to another session (of this server or another one), which
    /// is left alone — the process that ran the batch ended with its server.
    public func settle(_ backend: PostgresBackend) async throws {
        let match = "pid = $1 AND backend_start = $2::timestamptz"
        let parameters: [PostgresValue] = [.int32(backend.pid), .text(backend.startedAt)]
        try await query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE \(match)", parameters)
        while try await !query("SELECT 1 FROM pg_stat_activity WHERE \(match)", parameters).isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
