import CLibPQ

extension PostgresConnection {
    /// Runs `statements` in libpq pipeline mode: all are sent without waiting, followed by one
    /// Sync, so the batch costs one round trip. Up to the Sync they form one transaction (the
    /// implicit one, or the caller's if a `BEGIN` is open): if any statement fails, none of
    /// them takes effect, and the error names the failing `statementIndex`.
    ///
    /// The socket is non-blocking while sending and results are read as they arrive: a large
    /// batch in blocking mode deadlocks once both sides' socket buffers are full.
    ///
    /// Statements run prepared where `PreparedStatementCache` says so (prepared before the
    /// pipeline starts: `PQprepare` waits for its answer).
    func pipeline(_ statements: [PostgresStatement]) throws -> [PostgresRows] {
        let handle = try requireHandle()
        let idle = PQtransactionStatus(handle) == PQTRANS_IDLE
        let names = try statements.map { try preparedName(handle, $0.sql, $0.parameters) }
        return try retryingUnprepared(idle: idle, wasPrepared: { index in index.map { names.indices.contains($0) && names[$0] != nil } ?? false }) {
            try pipeline(statements, names: $0 ? names : statements.map { _ in nil }, handle: handle)
        }
    }

    private func pipeline(_ statements: [PostgresStatement], names: [String?], handle: OpaquePointer) throws -> [PostgresRows] {
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(code: .protocolViolation, message: "cannot enter pipeline mode: connection is busy")
        }
        guard PQsetnonblocking(handle, 1) == 0 else {
            PQexitPipelineMode(handle)
            throw lostConnectionError(statementIndex: nil)
        }
        var reader = PipelineReader(statementCount: statements.count)
        do {
            for (index, statement) in statements.enumerated() {
                let sent = try Self.withParameters(statement.parameters) { types, values, lengths, formats in
                    if let name = names[index] {
                        PQsendQueryPrepared(handle, name, Int32(statement.parameters.count), values, lengths, formats, 0)
                    } else {
                        PQsendQueryParams(
                            handle, statement.sql, Int32(statement.parameters.count), types, values, lengths, formats, 0)
                    }
                }
                guard sent == 1 else { throw lostConnectionError(statementIndex: index) }
                reader.sent += 1
                try pump(handle, &reader, untilFlushed: false)
            }
            guard PQpipelineSync(handle) == 1 else { throw lostConnectionError(statementIndex: nil) }
            reader.syncSent = true
            while !reader.syncReceived {
                try pump(handle, &reader, untilFlushed: true)
            }
        } catch var error as PostgresError where error.code == .connectionLost {
            // The server may still be running (or committing) the batch: say which process.
            error.backend = backend
            close()
            throw error
        } catch {
            // The connection's protocol state is unknown now: drop it, the pool reconnects.
            close()
            throw error
        }
        PQsetnonblocking(handle, 0)
        PQexitPipelineMode(handle)
        if let error = reader.firstError { throw error }
        return reader.results
    }

    /// Flushes what libpq has buffered and reads whatever results have arrived. With
    /// `untilFlushed` (after the Sync), waits for the socket when there is nothing to do yet.
    private func pump(_ handle: OpaquePointer, _ reader: inout PipelineReader, untilFlushed: Bool) throws {
        while true {
            let flush = PQflush(handle)
            guard flush >= 0 else { throw lostConnectionError(statementIndex: nil) }
            try readAvailable(handle, &reader)
            if reader.syncReceived { return }
            let pendingWrite = flush == 1
            if !pendingWrite && !untilFlushed { return }
            // libpq has consumed everything buffered (PQisBusy): wait for the socket.
            let timeout = Int32(clamping: configuration.ioTimeout.nanoseconds / 1_000_000)
            switch Socket.wait(PQsocket(handle), write: pendingWrite, timeoutMilliseconds: timeout) {
            case .ready: break
            case .timedOut:
                throw PostgresError(code: .connectionLost, message: "no answer from the server within \(configuration.ioTimeout)")
            case .failed: throw lostConnectionError(statementIndex: nil)
            }
            guard PQconsumeInput(handle) == 1 else { throw lostConnectionError(statementIndex: nil) }
        }
    }

    /// Reads every result libpq holds for `reader`'s pipeline, up to its Sync.
    func readAvailable(_ handle: OpaquePointer, _ reader: inout PipelineReader) throws {
        while reader.expectsResult, PQisBusy(handle) == 0 {
            let result = PQgetResult(handle)
            guard let result else {
                // libpq ends every result with a NULL; after a lost connection it answers NULL
                // for ever, and no Sync will come.
                guard PQstatus(handle) == CONNECTION_OK else { throw lostConnectionError(statementIndex: nil) }
                reader.statementFinished()
                continue
            }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_PIPELINE_SYNC:
                reader.syncReceived = true
            case PGRES_PIPELINE_ABORTED:
                break  // a consequence of the first error, which is what the caller sees
            default:
                do {
                    reader.current = try rows(from: result, statementIndex: reader.reading < reader.statementCount ? reader.reading : nil)
                } catch let error as PostgresError {
                    if reader.firstError == nil { reader.firstError = error }
                }
            }
        }
    }
}

/// Tracks which statement's results are being read. Each statement's results end with a
/// NULL from `PQgetResult`; the Sync's result has none after it. `PQgetResult` may only be
/// called for something already sent, or it would report a NULL that ends nothing.
struct PipelineReader {
    let statementCount: Int
    var sent = 0
    var reading = 0
    var syncSent = false
    var syncReceived = false
    var current: PostgresRows?
    var results: [PostgresRows] = []
    var firstError: PostgresError?

    init(statementCount: Int) {
        self.statementCount = statementCount
        results.reserveCapacity(statementCount)
    }

    var expectsResult: Bool {
        if syncReceived { return false }
        return reading < sent || (reading >= statementCount && syncSent)
    }

    mutating func statementFinished() {
        // A NULL after the last statement can only follow an error reported at the Sync
        // (a failed commit); it ends no statement.
        guard reading < statementCount else { return }
        results.append(current ?? .empty)
        current = nil
        reading += 1
    }
}
