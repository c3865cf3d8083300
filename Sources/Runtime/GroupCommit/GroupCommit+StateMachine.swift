import DequeModule

extension GroupCommit {
    /// Which write sets go into the next transaction. Pure: the writer runs its actions.
    ///
    /// While one batch is in flight, arriving write sets queue; when it ends, everything
    /// queued (up to the bounds) forms the next batch. The queue itself is bounded: past
    /// `maxPending` a submission is refused at once.
    struct StateMachine: Sendable {
        typealias ID = Int

        enum SubmitAction: Equatable, Sendable {
            /// Queued; the writer should be woken (no batch in flight).
            case queuedWakeWriter
            /// Queued behind the batch in flight.
            case queued
            case rejectOverloaded
            case rejectShutDown
        }

        let maxWriteSets: Int
        let maxStatements: Int
        let maxPending: Int
        private(set) var pending = Deque<(id: ID, statements: Int)>()
        private(set) var inFlight = false
        private(set) var shuttingDown = false

        init(maxWriteSets: Int, maxStatements: Int, maxPending: Int) {
            self.maxWriteSets = max(1, maxWriteSets)
            self.maxStatements = max(1, maxStatements)
            self.maxPending = max(1, maxPending)
        }

        mutating func submitted(_ id: ID, statements: Int) -> SubmitAction {
            if shuttingDown { return .rejectShutDown }
            if pending.count >= maxPending { return .rejectOverloaded }
            pending.append((id, statements))
            return inFlight ? .queued : .queuedWakeWriter
        }

        /// The writer is free: the next batch, or nil when nothing waits. A write set larger
        /// than `maxStatements` goes alone.
        mutating func nextBatch() -> [ID]? {
            guard !inFlight, !pending.isEmpty else { return nil }
            var batch: [ID] = []
            var statements = 0
            while let next = pending.first, batch.count < maxWriteSets {
                if !batch.isEmpty && statements + next.statements > maxStatements { break }
                pending.removeFirst()
                batch.append(next.id)
                statements += next.statements
            }
            inFlight = true
            return batch
        }

        mutating func batchFinished() {
            inFlight = false
        }

        /// Refuses new write sets; those queued are still written.
        mutating func shutDown() {
            shuttingDown = true
        }

        var isDrained: Bool { pending.isEmpty && !inFlight }
    }
}
