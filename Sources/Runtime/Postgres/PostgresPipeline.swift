import DequeModule
import Synchronization

/// Transactions sent one behind another on one connection (libpq pipeline mode) without
/// waiting for each other: each `Batch` of statements is one transaction (its statements up
/// to its Sync: all take effect or none), and the server runs the batches in the order they
/// were sent, each after the previous one has committed or rolled back. So a batch sees every
/// earlier batch's commit, commit order is send order, and the client's work between two
/// batches (building, encoding, handing results back) overlaps the server's instead of
/// leaving it idle.
///
/// A session drives the batches: a lease of one of `client`'s connections, whose thread sends
/// them, reads their results and completes each batch. It ends once it has had nothing to do
/// for `linger` (or at once after `close()`), releasing the connection. A connection lost
/// mid-session fails every batch in flight with `connectionLost` (it may have committed);
/// batches not yet sent go on a new connection; when none can be had, they fail with its
/// error (nothing of them was sent).
public final class PostgresPipeline: Sendable {
    /// A batch sent (or queued to be sent) and, once `isComplete`, its result.
    public final class Batch: Sendable {
        private enum State {
            case waiting([CheckedContinuation<Result<[PostgresRows], any Error>, Never>])
            case done(Result<[PostgresRows], any Error>)
        }

        let statements: [PostgresStatement]
        private let onComplete: @Sendable () -> Void
        private let state = Mutex(State.waiting([]))

        init(_ statements: [PostgresStatement], onComplete: @escaping @Sendable () -> Void) {
            self.statements = statements
            self.onComplete = onComplete
        }

        /// Tasks waiting in `outcome()`.
        var waiting: Int {
            state.withLock { if case .waiting(let waiters) = $0 { waiters.count } else { 0 } }
        }

        public var isComplete: Bool {
            state.withLock { if case .done = $0 { true } else { false } }
        }

        /// Each statement's rows, in order, once the batch has committed; its first error
        /// otherwise (with `statementIndex`). Any number of tasks may wait for it.
        public func outcome() async -> Result<[PostgresRows], any Error> {
            await withCheckedContinuation { continuation in
                let done = state.withLock { state -> Result<[PostgresRows], any Error>? in
                    switch state {
                    case .done(let result): return result
                    case .waiting(let waiters):
                        state = .waiting(waiters + [continuation])
                        return nil
                    }
                }
                if let done { continuation.resume(returning: done) }
            }
        }

        func complete(_ result: Result<[PostgresRows], any Error>) {
            let waiters = state.withLock { state -> [CheckedContinuation<Result<[PostgresRows], any Error>, Never>] in
                guard case .waiting(let waiters) = state else { return [] }
                state = .done(result)
                return waiters
            }
            for waiter in waiters { waiter.resume(returning: result) }
            onComplete()
        }
    }

    private struct State {
        var queue = Deque<Batch>()
        var sessionRunning = false
        var closed = false
    }

    private let client: PostgresClient
    private let state = Mutex(State())
    /// Wakes the session's thread when a batch is queued while it waits for the server. Nil
    /// when no pipe could be made: queued batches then go at the next result.
    let wakeup = WakeupPipe()
    let linger: Duration

    public init(client: PostgresClient, linger: Duration = .milliseconds(200)) {
        self.client = client
        self.linger = linger
    }

    /// Queues `statements` as one transaction behind every batch sent before; `onComplete`
    /// runs (on the session's thread) once its result is known.
    public func send(_ statements: [PostgresStatement], onComplete: @escaping @Sendable () -> Void = {}) -> Batch {
        let batch = Batch(statements, onComplete: onComplete)
        let startSession = state.withLock { state -> Bool in
            state.queue.append(batch)
            if state.sessionRunning { return false }
            state.sessionRunning = true
            return true
        }
        if startSession {
            // The session outlives this call by design (it serves later batches too); it ends
            // by itself once idle, and every batch it takes is completed.
            Task { await self.runSessions() }
        } else {
            wakeup?.signal()
        }
        return batch
    }

    /// Ends the session as soon as it has nothing in flight, instead of after `linger`.
    public func close() {
        state.withLock { $0.closed = true }
        wakeup?.signal()
    }

    private func runSessions() async {
        while true {
            do {
                let outcome = try await client.pool.withLease { lease in
                    try await lease.run { connection in connection.drive(self) }
                }
                if outcome == .idle { return }
                // The connection was lost: what is still queued goes on a new one.
                let more = state.withLock { state -> Bool in
                    if state.queue.isEmpty { state.sessionRunning = false }
                    return state.sessionRunning
                }
                if !more { return }
            } catch {
                // No connection to be had: nothing queued was sent.
                let unsent = state.withLock { state -> Deque<Batch> in
                    let unsent = state.queue
                    state.queue.removeAll()
                    state.sessionRunning = false
                    return unsent
                }
                unsent.forEach { $0.complete(.failure(error)) }
                return
            }
        }
    }

    // MARK: The session's side

    enum SessionOutcome: Sendable { case idle, connectionLost }

    func takeNext() -> Batch? {
        state.withLock { $0.queue.popFirst() }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    var hasQueued: Bool { state.withLock { !$0.queue.isEmpty } }

    /// Puts batches taken but never sent back at the front of the queue, in order.
    func requeue(_ batches: [Batch]) {
        guard !batches.isEmpty else { return }
        state.withLock { $0.queue.insert(contentsOf: batches, at: 0) }
    }

    /// Ends the session unless a batch is queued.
    func endSessionIfIdle() -> Bool {
        state.withLock { state in
            guard state.queue.isEmpty else { return false }
            state.sessionRunning = false
            return true
        }
    }
}
