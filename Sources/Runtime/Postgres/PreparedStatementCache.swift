import CLibPQ

/// Which statements of one connection run as server-side prepared statements.
///
/// A statement sent with `PQexecParams` is parsed, analysed and planned by the server every
/// time; on the order path that was a third of Postgres's CPU (`perf`, BENCHMARKS.md). A
/// statement prepared once (`PQprepare`) is only bound and executed afterwards, and after five
/// executions Postgres may keep a generic plan too. Like pgJDBC's `prepareThreshold`, a
/// statement is prepared on its second use (one-off statements never are), at most `capacity`
/// per connection (dynamic SQL cannot grow the server's memory), keyed by its text and
/// parameter types (a prepared statement's types are fixed).
///
/// It only prepares while no transaction is open: a failed `Parse` inside a caller's
/// transaction would abort it, where outside one it costs nothing and the statement then runs
/// unprepared (its own error, if any, reported the usual way).
struct PreparedStatementCache {
    struct Key: Hashable {
        var sql: String
        var types: [Oid]
    }

    enum Decision: Equatable {
        /// Execute the statement prepared under this name.
        case execute(String)
        /// Prepare it under this name first (then `prepared` or `failed`), then execute it.
        case prepare(String)
        /// Send it with its text (`PQexecParams`).
        case unnamed
    }

    let capacity: Int
    let threshold: Int
    private(set) var names: [Key: String] = [:]
    private var uses: [Key: Int] = [:]
    /// Statements whose `Parse` failed: never tried again on this connection.
    private var unpreparable: Set<Key> = []
    private var counter = 0

    init(capacity: Int = 256, threshold: Int = 2) {
        self.capacity = capacity
        self.threshold = threshold
    }

    /// What to do with a statement about to run; `idle`: no transaction is open. A use while
    /// one is open counts towards the threshold too, so that a connection that is never idle
    /// for long (a pipeline) can tell when a statement is due (`isDue`).
    mutating func decide(_ key: Key, idle: Bool) -> Decision {
        if let name = names[key] { return .execute(name) }
        guard names.count < capacity, !unpreparable.contains(key) else { return .unnamed }
        // The use counts are a hint: forgotten wholesale when they grow past a bound.
        if uses.count >= capacity * 4 { uses.removeAll(keepingCapacity: true) }
        let count = uses[key, default: 0] + 1
        guard idle, count >= threshold else {
            uses[key] = count
            return .unnamed
        }
        uses[key] = nil
        counter += 1
        return .prepare("intake_\(counter)")
    }

    /// Whether `key` would be prepared if it ran now with no transaction open.
    func isDue(_ key: Key) -> Bool {
        names[key] == nil && names.count < capacity && !unpreparable.contains(key) && uses[key, default: 0] + 1 >= threshold
    }

    mutating func prepared(_ key: Key, as name: String) {
        names[key] = name
    }

    mutating func failed(_ key: Key) {
        if unpreparable.count >= capacity { unpreparable.removeAll(keepingCapacity: true) }
        unpreparable.insert(key)
    }

    /// The server forgot them (`DISCARD ALL`, `DEALLOCATE ALL`, a new connection), or one
    /// failed in a way that may be stale (`cached plan must not change result type`).
    mutating func reset() {
        names.removeAll()
        uses.removeAll()
        unpreparable.removeAll()
    }

    /// SQLSTATEs after which the cache no longer matches the server: 26000 (a prepared
    /// statement does not exist) and 0A000 (`cached plan must not change result type`, after
    /// a table's columns changed).
    static func invalidates(sqlState: String?) -> Bool {
        sqlState == "26000" || sqlState == "0A000"
    }

    /// A script with a statement that drops prepared statements server-side (`DISCARD ...`,
    /// `DEALLOCATE ...`), not merely one that names a `discarded_at` column.
    static func mayDeallocate(_ sql: String) -> Bool {
        sql.split(separator: ";").contains { statement in
            let word = statement.drop { $0.isWhitespace }.prefix { $0.isLetter }.uppercased()
            return word == "DISCARD" || word == "DEALLOCATE"
        }
    }
}
