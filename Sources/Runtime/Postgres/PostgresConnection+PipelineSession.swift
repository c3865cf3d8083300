import CLibPQ
import DequeModule

extension PostgresConnection {
    /// A batch sent on this connection whose Sync has not come back yet.
    private struct InFlight {
        var batch: PostgresPipeline.Batch
        var reader: PipelineReader
    }

    /// Drives `pipeline`'s session on this connection (see `PostgresPipeline`): sends each
    /// queued batch, statements then Sync, behind those in flight; reads results as they
    /// arrive and completes each batch at its Sync; waits on the socket and on the pipeline's
    /// wake-up together. Returns once it has been idle for the pipeline's linger, or after
    /// the connection was lost (every batch in flight failed, the connection closed).
    ///
    /// Pipeline mode is left whenever nothing is in flight, so that statements can be
    /// prepared then (`PQprepare` waits for its answer); a batch with a statement due to be
    /// prepared waits for the batches in flight to finish.
    func drive(_ pipeline: PostgresPipeline) -> PostgresPipeline.SessionOutcome {
        var inFlight = Deque<InFlight>()
        var pipelining = false
        /// A batch waits for those in flight to finish, so that its statements can be prepared.
        var emptyingFirst = false
        do {
            let handle = try requireHandle()
            defer { if pipelining, self.handle != nil { leavePipelineMode(handle) } }
            let ioTimeout = Int32(clamping: configuration.ioTimeout.nanoseconds / 1_000_000)
            // When the server last showed a sign of life (or the first batch went out): a
            // batch queued meanwhile wakes the wait below, and must not restart its clock, or
            // a server that stopped answering under a steady load would never be given up on.
            var heardFrom = ContinuousClock.now
            let linger = Int32(clamping: pipeline.linger.nanoseconds / 1_000_000)
            while true {
                while true {
                    if inFlight.isEmpty {
                        emptyingFirst = false
                        if pipelining {
                            leavePipelineMode(handle)
                            pipelining = false
                        }
                        guard pipeline.hasQueued else { break }
                        // Found dead while idle (the server restarted, the backend was
                        // terminated): nothing is lost yet; a new session reconnects.
                        guard idleConnectionIsAlive(handle) else {
                            close()
                            return .connectionLost
                        }
                    }
                    if emptyingFirst { break }
                    guard let batch = pipeline.takeNext() else { break }
                    // Prepared statements are made only while nothing is in flight: one that is
                    // due (or statements to drop) is worth letting the pipeline empty once,
                    // rather than running unprepared for as long as the load keeps it full.
                    if !inFlight.isEmpty, batch.statements.contains(where: preparationIsDue) {
                        pipeline.requeue([batch])
                        emptyingFirst = true
                        break
                    }
                    // From here on the batch is in `inFlight`: completed (or, if nothing of it
                    // was sent, queued again) whatever fails.
                    if inFlight.isEmpty { heardFrom = .now }
                    inFlight.append(InFlight(batch: batch, reader: PipelineReader(statementCount: batch.statements.count)))
                    let names = try batch.statements.map { try preparedName(handle, $0.sql, $0.parameters) }
                    let encoded: [EncodedParameters]
                    do {
                        encoded = try batch.statements.enumerated().map { index, statement in
                            do {
                                return try EncodedParameters(statement.parameters)
                            } catch var error as PostgresError {
                                error.statementIndex = index
                                throw error
                            }
                        }
                    } catch {
                        // Nothing of it was sent.
                        inFlight.removeLast()
                        batch.complete(.failure(error))
                        continue
                    }
                    if !pipelining {
                        guard PQenterPipelineMode(handle) == 1 else {
                            throw PostgresError(code: .protocolViolation, message: "cannot enter pipeline mode: connection is busy")
                        }
                        pipelining = true
                        guard PQsetnonblocking(handle, 1) == 0 else { throw lostConnectionError(statementIndex: nil) }
                    }
                    for (index, statement) in batch.statements.enumerated() {
                        let sent = encoded[index].withPointers { types, values, lengths, formats in
                            if let name = names[index] {
                                PQsendQueryPrepared(handle, name, Int32(encoded[index].count), values, lengths, formats, 0)
                            } else {
                                PQsendQueryParams(handle, statement.sql, Int32(encoded[index].count), types, values, lengths, formats, 0)
                            }
                        }
                        guard sent == 1 else { throw lostConnectionError(statementIndex: index) }
                        inFlight[inFlight.count - 1].reader.sent += 1
                        try pumpSession(handle, &inFlight, ioTimeout: ioTimeout, heardFrom: &heardFrom)
                    }
                    guard PQpipelineSync(handle) == 1 else { throw lostConnectionError(statementIndex: nil) }
                    inFlight[inFlight.count - 1].reader.syncSent = true
                    try pumpSession(handle, &inFlight, ioTimeout: ioTimeout, heardFrom: &heardFrom)
                }
                if inFlight.isEmpty {
                    if pipelining {
                        leavePipelineMode(handle)
                        pipelining = false
                    }
                    if pipeline.isClosed || !(pipeline.wakeup?.wait(timeoutMilliseconds: linger) ?? false) {
                        if pipeline.endSessionIfIdle() { return .idle }
                    }
                    continue
                }
                let flush = PQflush(handle)
                guard flush >= 0 else { throw lostConnectionError(statementIndex: nil) }
                let silent = ContinuousClock.now - heardFrom
                let remaining = max(0, Int32(clamping: (configuration.ioTimeout - silent).nanoseconds / 1_000_000))
                switch Socket.wait(PQsocket(handle), write: flush == 1, orWakeup: pipeline.wakeup?.readEnd ?? -1, timeoutMilliseconds: remaining) {
                case .ready:
                    heardFrom = .now
                    guard PQconsumeInput(handle) == 1 else { throw lostConnectionError(statementIndex: nil) }
                    try readAvailable(handle, &inFlight)
                case .woken:
                    pipeline.wakeup?.drain()
                case .timedOut:
                    throw PostgresError(code: .connectionLost, message: "no answer from the server within \(configuration.ioTimeout)")
                case .failed:
                    throw lostConnectionError(statementIndex: nil)
                }
            }
        } catch {
            // The server may still be running (or committing) the batches sent: say which
            // process. The protocol state is unknown either way: the connection goes. A batch
            // of which nothing was sent goes on the next connection, if this one broke.
            var lost = (error as? PostgresError) ?? PostgresError(code: .connectionLost, message: "\(error)")
            if lost.code != .connectionLost { lost = PostgresError(code: .connectionLost, message: lost.message) }
            lost.backend = backend
            let broken = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
            close()
            var unsent: [PostgresPipeline.Batch] = []
            for flight in inFlight {
                if broken, flight.reader.sent == 0, !flight.reader.syncSent {
                    unsent.append(flight.batch)
                } else {
                    flight.batch.complete(.failure(lost))
                }
            }
            pipeline.requeue(unsent)
            return .connectionLost
        }
    }

    private func leavePipelineMode(_ handle: OpaquePointer) {
        PQsetnonblocking(handle, 0)
        PQexitPipelineMode(handle)
    }

    /// Flushes what libpq has buffered, waiting for the socket only while it cannot take
    /// more (reading results meanwhile: the server may be blocked writing them).
    private func pumpSession(
        _ handle: OpaquePointer, _ inFlight: inout Deque<InFlight>, ioTimeout: Int32, heardFrom: inout ContinuousClock.Instant
    ) throws {
        while true {
            let flush = PQflush(handle)
            guard flush >= 0 else { throw lostConnectionError(statementIndex: nil) }
            try readAvailable(handle, &inFlight)
            if flush == 0 { return }
            switch Socket.wait(PQsocket(handle), write: true, timeoutMilliseconds: ioTimeout) {
            case .ready: heardFrom = .now
            case .timedOut:
                throw PostgresError(code: .connectionLost, message: "no answer from the server within \(configuration.ioTimeout)")
            case .failed: throw lostConnectionError(statementIndex: nil)
            }
            guard PQconsumeInput(handle) == 1 else { throw lostConnectionError(statementIndex: nil) }
        }
    }

    /// Reads every result libpq holds, into the oldest batch in flight (`readAvailable` of one
    /// pipeline); a batch whose Sync arrives is completed and the next one reads on.
    private func readAvailable(_ handle: OpaquePointer, _ inFlight: inout Deque<InFlight>) throws {
        while !inFlight.isEmpty {
            try readAvailable(handle, &inFlight[0].reader)
            guard inFlight[0].reader.syncReceived else { return }
            let done = inFlight.removeFirst()
            if let error = done.reader.firstError {
                forgetPreparedIfInvalidated(by: error)
                done.batch.complete(.failure(error))
            } else {
                done.batch.complete(.success(done.reader.results))
            }
        }
    }
}
