import CLibPQ
import Foundation

/// One libpq connection. Blocking, not thread-safe, and never shared: it lives on one
/// `BlockingThread` (see `ConnectionPool`), or is driven by the listener's own thread.
final class PostgresConnection: PoolableConnection {
    private(set) var handle: OpaquePointer?
    let configuration: PostgresConfiguration

    init(configuration: PostgresConfiguration) {
        self.configuration = configuration
    }

    deinit { close() }

    var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The server backend's process id (for `pg_terminate_backend` in tests and logs).
    var backendPID: Int32 { handle.map(PQbackendPID) ?? 0 }

    /// The server process of this connection, read when it connects (one round trip per
    /// connection), so that a commit lost with it can be settled (`PostgresClient.settle`).
    private(set) var backend: PostgresBackend?

    /// This connection's server-side prepared statements.
    private var prepared = PreparedStatementCache()
    /// The server may still hold statements the cache forgot (after an invalidation): they
    /// are dropped (`DEALLOCATE ALL`) as soon as no transaction is open, so that a schema
    /// change cannot grow the server's statements past the cache's bound.
    private var forgottenOnServer = false

    func connect() throws {
        close()
        let parameters = configuration.connectionParameters
        let connection = withCStrings(parameters.map(\.0)) { keywords in
            withCStrings(parameters.map(\.1)) { values in
                PQconnectdbParams(keywords, values, 1)
            }
        }
        guard let connection else {
            throw PostgresError(code: .unavailable, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).oneLine()
            PQfinish(connection)
            throw PostgresError(code: .unavailable, message: "cannot connect to \(configuration.redactedURL): \(message)")
        }
        // Without a processor libpq prints NOTICEs to stderr; the server log keeps them.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        handle = connection
        do {
            let rows = try query("SELECT backend_start::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()", [])
            guard let row = rows.first else {
                throw PostgresError(code: .unavailable, message: "the server does not show this connection in pg_stat_activity")
            }
            backend = PostgresBackend(pid: PQbackendPID(connection), startedAt: try row.decode("started", as: String.self))
        } catch {
            close()
            throw error
        }
    }

    func prepareForUse() throws {
        if let handle, idleConnectionIsAlive(handle) { return }
        try connect()
    }

    /// Whether this idle connection still works. An idle connection has nothing to read unless
    /// the server spoke first: a notification (dropped), or the FATAL message and EOF of a
    /// restart or `pg_terminate_backend`.
    func idleConnectionIsAlive(_ handle: OpaquePointer) -> Bool {
        guard PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) == PQTRANS_IDLE else { return false }
        var rounds = 0
        while Socket.isReadable(PQsocket(handle)), rounds < 4 {
            rounds += 1
            if PQconsumeInput(handle) == 0 || PQstatus(handle) != CONNECTION_OK { return false }
            _ = drainNotifications()
        }
        return true
    }

    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        backend = nil
        prepared.reset()
        forgottenOnServer = false
    }

    func requireHandle() throws -> OpaquePointer {
        guard let handle else {
            throw PostgresError(code: .connectionLost, message: "the connection is closed")
        }
        return handle
    }

    // MARK: Statements

    /// Runs one statement with parameters (extended protocol) and returns its rows. `timeout`
    /// (default: the configuration's `ioTimeout`) bounds the silence of the server, as
    /// `awaitResult` says; a statement meant to wait long (a blocking advisory lock) passes
    /// its own.
    func query(_ sql: String, _ parameters: [PostgresValue], timeout: Duration? = nil) throws -> PostgresRows {
        let handle = try requireHandle()
        let idle = PQtransactionStatus(handle) == PQTRANS_IDLE
        let name = try preparedName(handle, sql, parameters)
        return try retryingUnprepared(idle: idle, wasPrepared: { _ in name != nil }) { usePrepared in
            let sent = try Self.withParameters(parameters) { types, values, lengths, formats in
                if usePrepared, let name {
                    PQsendQueryPrepared(handle, name, Int32(parameters.count), values, lengths, formats, 0)
                } else {
                    PQsendQueryParams(handle, sql, Int32(parameters.count), types, values, lengths, formats, 0)
                }
            }
            let result = try awaitResult(handle, sent: sent, timeout: timeout)
            defer { PQclear(result) }
            return try rows(from: result, statementIndex: nil)
        }
    }

    /// The last result of what was just sent (`sent`: the `PQsend...` call's return), as
    /// `PQexec` gives it, but waiting for the server at most `timeout` (default `ioTimeout`) of
    /// silence: `PQexec` blocks for as long as the server does (a lock held for minutes, a
    /// backend stopped), and its caller with it. Past it the connection is closed (its
    /// protocol state is unknown) and the call fails with `connectionLost`: the statement may
    /// still run, or have run, on the server.
    func awaitResult(_ handle: OpaquePointer, sent: Int32, timeout: Duration? = nil) throws -> OpaquePointer? {
        guard sent == 1 else { return nil }
        let limit = timeout ?? configuration.ioTimeout
        var heardFrom = ContinuousClock.now
        while PQisBusy(handle) == 1 {
            let remaining = limit - (ContinuousClock.now - heardFrom)
            switch Socket.wait(PQsocket(handle), write: false, timeoutMilliseconds: max(0, Int32(clamping: remaining.nanoseconds / 1_000_000))) {
            case .ready:
                heardFrom = .now
                if PQconsumeInput(handle) != 1 { return PQgetResult(handle) }
            case .timedOut:
                close()
                throw PostgresError(code: .connectionLost, message: "no answer from the server within \(limit)")
            case .failed:
                return nil
            }
        }
        var last: OpaquePointer?
        while let result = PQgetResult(handle) {
            if let previous = last { PQclear(previous) }
            last = result
            if PQresultStatus(result) == PGRES_COPY_IN || PQresultStatus(result) == PGRES_COPY_OUT { break }
        }
        return last
    }

    /// The name `sql` runs under as a prepared statement of this connection, preparing it now
    /// when `PreparedStatementCache` says so (one round trip, once); nil: send its text.
    /// A server that leaves the preparation unanswered past the I/O timeout closes the
    /// connection (`awaitResult`), and this throws `connectionLost`: `handle` is gone then,
    /// and must not be used to send the statement after all.
    func preparedName(_ handle: OpaquePointer, _ sql: String, _ parameters: [PostgresValue]) throws -> String? {
        let idle = PQtransactionStatus(handle) == PQTRANS_IDLE
        if forgottenOnServer, idle { try deallocateForgotten(handle) }
        let key = PreparedStatementCache.Key(sql: sql, types: parameters.map(\.typeOID))
        switch prepared.decide(key, idle: idle && !forgottenOnServer) {
        case .execute(let name):
            return name
        case .unnamed:
            return nil
        case .prepare(let name):
            let sent = key.types.withUnsafeBufferPointer { types in
                PQsendPrepare(handle, name, sql, Int32(types.count), types.baseAddress)
            }
            let result = try awaitResult(handle, sent: sent)
            defer { PQclear(result) }
            guard PQresultStatus(result) == PGRES_COMMAND_OK else {
                // Its error (or a lost connection) is reported when it runs unprepared.
                prepared.failed(key)
                return nil
            }
            prepared.prepared(key, as: name)
            return name
        }
    }

    private func deallocateForgotten(_ handle: OpaquePointer) throws {
        let result = try awaitResult(handle, sent: PQsendQuery(handle, "DEALLOCATE ALL"))
        defer { PQclear(result) }
        // Otherwise (a lost connection) it is tried again at the next statement; nothing is
        // prepared meanwhile, and a new connection starts without statements anyway.
        if PQresultStatus(result) == PGRES_COMMAND_OK { forgottenOnServer = false }
    }

    /// Whether running `statement` with no transaction open would prepare it now, or drop the
    /// statements the server still holds and the cache forgot.
    func preparationIsDue(_ statement: PostgresStatement) -> Bool {
        forgottenOnServer || prepared.isDue(PreparedStatementCache.Key(sql: statement.sql, types: statement.parameters.map(\.typeOID)))
    }

    /// Empties the cache when `error` says the server no longer holds this connection's
    /// prepared statements as it thinks; the server's are dropped once no transaction is open.
    func forgetPreparedIfInvalidated(by error: PostgresError) {
        guard PreparedStatementCache.invalidates(sqlState: error.sqlState) else { return }
        prepared.reset()
        forgottenOnServer = true
    }

    /// Runs `body(true)` (with its prepared statements). When the server says they no longer
    /// match this connection's cache (`PreparedStatementCache.invalidates`), the cache is
    /// emptied; if the failing statement was prepared (`wasPrepared(statementIndex)`) and no
    /// caller's transaction is open (`idle` before it ran: what failed was rolled back with its
    /// own implicit transaction), it runs once more, unprepared: `body(false)`.
    func retryingUnprepared<T>(idle: Bool, wasPrepared: (Int?) -> Bool, _ body: (Bool) throws -> T) throws -> T {
        do {
            return try body(true)
        } catch let error as PostgresError where PreparedStatementCache.invalidates(sqlState: error.sqlState) {
            forgetPreparedIfInvalidated(by: error)
            if let handle, PQtransactionStatus(handle) == PQTRANS_IDLE { try deallocateForgotten(handle) }
            guard idle, wasPrepared(error.statementIndex) else { throw error }
            return try body(false)
        }
    }

    /// Runs a script of one or more statements without parameters (simple protocol), as
    /// migrations need. Returns the last statement's rows.
    @discardableResult
    func simpleQuery(_ sql: String) throws -> PostgresRows {
        let handle = try requireHandle()
        let result = try awaitResult(handle, sent: PQsendQuery(handle, sql))
        defer { PQclear(result) }
        if PreparedStatementCache.mayDeallocate(sql) {
            // It may have dropped some of them only: the rest go at the next idle statement.
            prepared.reset()
            forgottenOnServer = true
        }
        return try rows(from: result, statementIndex: nil)
    }

    /// Ends the open transaction with COMMIT; see `PostgresTransaction.commit()`.
    func commit() throws {
        let handle = try requireHandle()
        if PQtransactionStatus(handle) == PQTRANS_INERROR {
            try simpleQuery("ROLLBACK")
            throw PostgresError(
                code: .sqlError, message: "transaction rolled back: a statement in it failed and the error was caught")
        }
        try simpleQuery("COMMIT")
    }

    /// Notifications received so far on this connection.
    func drainNotifications() -> [PostgresNotification] {
        guard let handle else { return [] }
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(handle) {
            notifications.append(
                PostgresNotification(
                    channel: String(cString: notify.pointee.relname),
                    payload: String(cString: notify.pointee.extra),
                    senderPID: notify.pointee.be_pid))
            PQfreemem(notify)
        }
        return notifications
    }

    // MARK: Results

    func rows(from result: OpaquePointer?, statementIndex: Int?) throws -> PostgresRows {
        guard let result else { throw lostConnectionError(statementIndex: statementIndex) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_SINGLE_TUPLE:
            return Self.decodeRows(result)
        case PGRES_EMPTY_QUERY:
            return .empty
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR:
            throw error(from: result, statementIndex: statementIndex)
        case PGRES_PIPELINE_ABORTED:
            throw PostgresError(
                code: .sqlError, message: "not run: an earlier statement of the pipeline failed",
                statementIndex: statementIndex)
        default:
            throw PostgresError(
                code: .protocolViolation, message: "unexpected result status \(PQresultStatus(result).rawValue)",
                statementIndex: statementIndex)
        }
    }

    private static func decodeRows(_ result: OpaquePointer) -> PostgresRows {
        let fieldCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var columns: [String] = []
        var types: [PostgresType] = []
        columns.reserveCapacity(fieldCount)
        for field in 0..<fieldCount {
            columns.append(String(cString: PQfname(result, Int32(field))))
            types.append(PostgresType(rawValue: PQftype(result, Int32(field))))
        }
        var cells: [String?] = []
        cells.reserveCapacity(rowCount * fieldCount)
        for row in 0..<Int32(rowCount) {
            for field in 0..<Int32(fieldCount) {
                if PQgetisnull(result, row, field) == 1 {
                    cells.append(nil)
                } else if let value = PQgetvalue(result, row, field) {
                    let length = Int(PQgetlength(result, row, field))
                    let bytes = UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self)
                    cells.append(String(decoding: UnsafeBufferPointer(start: bytes, count: length), as: UTF8.self))
                } else {
                    cells.append(nil)
                }
            }
        }
        let tuples = String(cString: PQcmdTuples(result))
        return PostgresRows(
            columns: columns, columnTypes: types, cells: cells, affectedRows: Int(tuples) ?? rowCount)
    }

    func error(from result: OpaquePointer, statementIndex: Int?) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            guard let value = PQresultErrorField(result, Int32(code)) else { return nil }
            return String(cString: value)
        }
        guard let sqlState = field(UInt8(ascii: "C")) else {
            return lostConnectionError(statementIndex: statementIndex)
        }
        return PostgresError(
            code: PostgresError.code(forSQLState: sqlState),
            message: field(UInt8(ascii: "M")) ?? String(cString: PQresultErrorMessage(result)).trimmingTrailingWhitespace(),
            sqlState: sqlState,
            detail: field(UInt8(ascii: "D")),
            constraint: field(UInt8(ascii: "n")),
            statementIndex: statementIndex)
    }

    func lostConnectionError(statementIndex: Int?) -> PostgresError {
        let message = handle.map { String(cString: PQerrorMessage($0)).oneLine() } ?? ""
        return PostgresError(
            code: .connectionLost, message: message.isEmpty ? "connection lost" : message,
            statementIndex: statementIndex)
    }

    // MARK: Parameters

    /// Lays the parameters out in one buffer and hands libpq pointers into it.
    static func withParameters<T>(
        _ parameters: [PostgresValue],
        _ body: (
            UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?
        ) throws -> T
    ) throws -> T {
        try EncodedParameters(parameters).withPointers(body)
    }
}

/// Calls `body` with a NULL-terminated array of C strings.
func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { buffer in
        // Never empty: it holds at least the terminating nil.
        guard let base = buffer.baseAddress else { preconditionFailure("empty argument vector") }
        return body(base)
    }
}
