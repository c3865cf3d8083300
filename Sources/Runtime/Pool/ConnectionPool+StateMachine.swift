import DequeModule

extension ConnectionPool {
    /// The pool's bookkeeping as a pure value: which slots exist, which are idle, who waits.
    ///
    /// A *slot* is a connection's place in the pool (its thread and its connection, which may
    /// be disconnected). Slots are created lazily up to `maxSlots`. The shell around this
    /// struct performs the actions it returns and owns the continuations; nothing here does I/O.
    struct StateMachine: Sendable {
        typealias WaiterID = Int

        enum LeaseAction: Equatable, Sendable {
            /// Hand the caller this idle slot.
            case lease(slot: Int)
            /// Create slot number `slot` and hand it to the caller.
            case createAndLease(slot: Int)
            /// Park the caller until a slot is released or its deadline passes.
            case wait
            /// The pool is shutting down.
            case fail
        }

        enum ReleaseAction: Equatable, Sendable {
            /// Resume this waiter with the released slot.
            case handOver(slot: Int, to: WaiterID)
            /// Nobody waits; the slot is idle now.
            case park
            /// The pool is shut down: close the slot.
            case close(slot: Int)
        }

        struct ShutdownAction: Equatable, Sendable {
            var failWaiters: [WaiterID]
            var closeSlots: [Int]
        }

        let maxSlots: Int
        private(set) var slotCount = 0
        /// Idle slots, most recently released last: reusing the warmest connection first keeps
        /// the others cold enough to be trimmed later and avoids spreading load thinly.
        private(set) var idle: [Int] = []
        private(set) var waiters = Deque<WaiterID>()
        private(set) var isShutDown = false

        init(maxSlots: Int) {
            precondition(maxSlots > 0, "a pool needs at least one connection")
            self.maxSlots = maxSlots
        }

        var leasedCount: Int { slotCount - idle.count }

        mutating func leaseRequested(by waiter: WaiterID) -> LeaseAction {
            if isShutDown { return .fail }
            if let slot = idle.popLast() { return .lease(slot: slot) }
            if slotCount < maxSlots {
                defer { slotCount += 1 }
                return .createAndLease(slot: slotCount)
            }
            waiters.append(waiter)
            return .wait
        }

        mutating func slotReleased(_ slot: Int) -> ReleaseAction {
            if isShutDown { return .close(slot: slot) }
            if let waiter = waiters.popFirst() { return .handOver(slot: slot, to: waiter) }
            idle.append(slot)
            return .park
        }

        /// The waiter's deadline passed or its task was cancelled. Returns whether it was still
        /// waiting (and so must be failed by the caller); false if a slot already reached it.
        mutating func waiterGaveUp(_ waiter: WaiterID) -> Bool {
            guard let index = waiters.firstIndex(of: waiter) else { return false }
            waiters.remove(at: index)
            return true
        }

        mutating func shutdown() -> ShutdownAction {
            guard !isShutDown else { return ShutdownAction(failWaiters: [], closeSlots: []) }
            isShutDown = true
            let action = ShutdownAction(failWaiters: Array(waiters), closeSlots: idle)
            waiters.removeAll()
            idle.removeAll()
            return action
        }
    }
}
