extension PostgresSession {
    /// Runs `body` holding the session-level advisory lock `key` (an SQL expression giving a
    /// bigint or int, e.g. `hashtext('intake.migrations:' || current_schema())`), then releases
    /// it, whether `body` returned or threw. With `wait`, waits for the lock; without, returns
    /// nil at once — `body` not run — when another session holds it.
    ///
    /// A release that fails means the connection is gone, and a session lock ends with its
    /// session: the lock is free either way, so that failure is not reported.
    public func withAdvisoryLock<T>(_ key: String, wait: Bool = false, _ body: () async throws -> T) async throws -> T? {
        if wait {
            // The holder may work for long (a lifecycle run, a migration): no I/O timeout.
            try await query("SELECT pg_advisory_lock(\(key))", waitingUpTo: .seconds(7 * 24 * 3600))
        } else {
            guard try await query("SELECT pg_try_advisory_lock(\(key)) AS locked")[0].decode("locked", as: Bool.self) else { return nil }
        }
        let result: T
        do {
            result = try await body()
        } catch {
            await unlock(key)
            throw error
        }
        await unlock(key)
        return result
    }

    private func unlock(_ key: String) async {
        do {
            try await query("SELECT pg_advisory_unlock(\(key))")
        } catch {
            // The session is gone, and its locks with it.
        }
    }
}
