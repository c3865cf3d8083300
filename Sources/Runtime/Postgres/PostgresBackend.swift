/// One server process, named so that it cannot be mistaken for another: a process id alone is
/// reused by the next connection after a restart, and means another machine's process after
/// a failover. `startedAt` is its `pg_stat_activity.backend_start` (text, UTC, microseconds).
public struct PostgresBackend: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    public var startedAt: String

    public init(pid: Int32, startedAt: String) {
        self.pid = pid
        self.startedAt = startedAt
    }

    public var description: String { "backend \(pid) started \(startedAt)" }
}
