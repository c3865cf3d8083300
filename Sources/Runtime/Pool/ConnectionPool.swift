import Metrics
import Synchronization

/// A bounded pool of blocking connections, each owned by its own thread.
///
/// Callers lease a connection, run blocking closures on its thread, and release it. When every
/// connection is leased, a caller waits at most `leaseTimeout`, then gets the error made by
/// `timeoutError`. A connection found dead at the start of a lease is reconnected in place
/// (`PoolableConnection.prepareForUse`), so a server restart costs callers nothing but the
/// reconnect.
final class ConnectionPool<Connection: PoolableConnection>: Sendable {
    typealias Slot = ThreadConfined<Connection>

    private struct State: ~Copyable {
        var machine: StateMachine
        var slots: [Slot] = []
        var waiters: [StateMachine.WaiterID: Waiter] = [:]
        var nextWaiterID = 0
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Int, any Error>
        var timer: Task<Void, Never>?
    }

    let name: String
    let leaseTimeout: Duration
    private let state: Mutex<State>
    private let makeConnection: @Sendable () -> Connection
    private let timeoutError: @Sendable () -> any Error
    private let shutdownError: @Sendable () -> any Error
    private let leasedGauge: Gauge
    private let waitTimer: Metrics.Timer

    init(
        name: String,
        size: Int,
        leaseTimeout: Duration,
        makeConnection: @escaping @Sendable () -> Connection,
        timeoutError: @escaping @Sendable () -> any Error,
        shutdownError: @escaping @Sendable () -> any Error
    ) {
        self.name = name
        self.leaseTimeout = leaseTimeout
        self.state = Mutex(State(machine: StateMachine(maxSlots: size)))
        self.makeConnection = makeConnection
        self.timeoutError = timeoutError
        self.shutdownError = shutdownError
        self.leasedGauge = Gauge(label: "intake_pool_connections_leased", dimensions: [("pool", name)])
        self.waitTimer = Metrics.Timer(label: "intake_pool_lease_wait_seconds", dimensions: [("pool", name)])
    }

    /// Leases a connection, runs `body`, and releases the connection whatever happens.
    func withLease<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Lease) async throws -> T
    ) async throws -> T {
        let lease = try await self.lease()
        do {
            let result = try await body(lease)
            release(lease)
            return result
        } catch {
            release(lease)
            throw error
        }
    }

    func lease() async throws -> Lease {
        let start = ContinuousClock.now
        let waiterID = state.withLock { state -> Int in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let slotIndex: Int = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let outcome = state.withLock { state -> LeaseOutcome in
                    switch state.machine.leaseRequested(by: waiterID) {
                    case .lease(let slot):
                        return .ready(slot)
                    case .createAndLease(let slot):
                        let thread = BlockingThread(name: "\(name)-\(slot)")
                        state.slots.append(Slot(makeConnection(), thread: thread))
                        return .ready(slot)
                    case .wait:
                        state.waiters[waiterID] = Waiter(continuation: continuation, timer: nil)
                        return .wait
                    case .fail:
                        return .fail
                    }
                }
                switch outcome {
                case .ready(let slot):
                    continuation.resume(returning: slot)
                case .fail:
                    continuation.resume(throwing: shutdownError())
                case .wait:
                    let timeout = leaseTimeout
                    let timer = Task { [weak self] in
                        try? await Task.sleep(for: timeout)
                        guard !Task.isCancelled, let self else { return }
                        self.giveUp(waiterID, with: self.timeoutError())
                    }
                    state.withLock { state in
                        // The waiter may already have been served; then the timer is moot.
                        if state.waiters[waiterID] != nil {
                            state.waiters[waiterID]?.timer = timer
                        } else {
                            timer.cancel()
                        }
                    }
                }
            }
        } onCancel: {
            giveUp(waiterID, with: CancellationError())
        }
        waitTimer.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
        let slot = state.withLock { state in
            leasedGauge.record(state.machine.leasedCount)
            return state.slots[slotIndex]
        }
        return Lease(pool: self, index: slotIndex, slot: slot)
    }

    func release(_ lease: Lease) {
        let (action, waiter, slot, leased) = state.withLock { state in
            let action = state.machine.slotReleased(lease.index)
            var waiter: Waiter?
            if case .handOver(_, let id) = action { waiter = state.waiters.removeValue(forKey: id) }
            return (action, waiter, state.slots[lease.index], state.machine.leasedCount)
        }
        leasedGauge.record(leased)
        switch action {
        case .handOver(let index, _):
            waiter?.timer?.cancel()
            waiter?.continuation.resume(returning: index)
        case .park:
            break
        case .close:
            Self.close(slot)
        }
    }

    /// Fails every waiter, closes idle connections now and leased ones when they come back.
    func shutdown() {
        let (waiters, slots) = state.withLock { state in
            let action = state.machine.shutdown()
            let waiters = action.failWaiters.compactMap { state.waiters.removeValue(forKey: $0) }
            return (waiters, action.closeSlots.map { state.slots[$0] })
        }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: shutdownError())
        }
        slots.forEach(Self.close)
    }

    private func giveUp(_ waiterID: Int, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard state.machine.waiterGaveUp(waiterID) else { return nil }
            return state.waiters.removeValue(forKey: waiterID)
        }
        waiter?.timer?.cancel()
        waiter?.continuation.resume(throwing: error)
    }

    private static func close(_ slot: Slot) {
        slot.submit { $0.close() }
        slot.thread.stop()
    }
}

extension ConnectionPool {
    /// One leased connection. Valid until released; every `run` executes on the connection's
    /// own thread, and the first one of a lease first checks that the connection is alive.
    final class Lease: Sendable {
        fileprivate let pool: ConnectionPool
        fileprivate let index: Int
        private let slot: Slot
        private let prepared = Mutex(false)

        fileprivate init(pool: ConnectionPool, index: Int, slot: Slot) {
            self.pool = pool
            self.index = index
            self.slot = slot
        }

        func run<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
            try await slot.run { connection in
                if !self.prepared.withLock({ $0 }) {
                    try connection.prepareForUse()
                    self.prepared.withLock { $0 = true }
                }
                return try body(connection)
            }
        }
    }
}

private enum LeaseOutcome { case ready(Int), wait, fail }

extension Duration {
    @inlinable
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
