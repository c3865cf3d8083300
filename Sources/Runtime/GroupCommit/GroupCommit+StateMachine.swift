import DequeModule

extension GroupCommit {
    /// Which write sets go into the next transaction, and when. Pure: the writer runs its
    /// actions.
    ///
    /// Up to `maxInFlight` batches are in flight at once, each queued on the writer's
    /// connection behind the previous one (`PostgresPipeline`), so Postgres starts the next
    /// transaction the moment one commits instead of waiting for the writer to hand results
    /// back and build the next batch. A batch goes behind another only once at least half as
    /// many write sets wait as the last batch sent holds (or a full batch): sending a handful
    /// the moment they arrive would split the load into small transactions, each paying a
    /// commit. With nothing in flight, whatever waits goes at once. The queue is bounded:
    /// past `maxPending` a submission is refused at once.
    struct StateMachine: Sendable {
        typealias ID = Int

        enum SubmitAction: Equatable, Sendable {
            /// Queued; the writer should be woken (a batch can go now).
            case queuedWakeWriter
            /// Queued behind the batches in flight.
            case queued
            case rejectOverloaded
            case rejectShutDown
        }

        let maxWriteSets: Int
        let maxStatements: Int
        let maxPending: Int
        let maxInFlight: Int
        private(set) var pending = Deque<(id: ID, statements: Int)>()
        /// Write sets per batch in flight, oldest first.
        private(set) var inFlight = Deque<Int>()
        private(set) var shuttingDown = false
        /// The writer has been told a batch can go and has not asked for it yet.
        private var writerWoken = false

        init(maxWriteSets: Int, maxStatements: Int, maxPending: Int, maxInFlight: Int = 2) {
            self.maxWriteSets = max(1, maxWriteSets)
            self.maxStatements = max(1, maxStatements)
            self.maxPending = max(1, maxPending)
            self.maxInFlight = max(1, maxInFlight)
        }

        mutating func submitted(_ id: ID, statements: Int) -> SubmitAction {
            if shuttingDown { return .rejectShutDown }
            if pending.count >= maxPending { return .rejectOverloaded }
            pending.append((id, statements))
            guard canSend, !writerWoken else { return .queued }
            writerWoken = true
            return .queuedWakeWriter
        }

        private var canSend: Bool {
            guard !pending.isEmpty, inFlight.count < maxInFlight else { return false }
            guard let last = inFlight.last else { return true }
            return pending.count >= maxWriteSets || pending.count * 2 >= last
        }

        /// The next batch to send, or nil when none may go now. A write set larger than
        /// `maxStatements` goes alone.
        mutating func nextBatch() -> [ID]? {
            writerWoken = false
            guard canSend else { return nil }
            var batch: [ID] = []
            var statements = 0
            while let next = pending.first, batch.count < maxWriteSets {
                if !batch.isEmpty && statements + next.statements > maxStatements { break }
                pending.removeFirst()
                batch.append(next.id)
                statements += next.statements
            }
            inFlight.append(batch.count)
            return batch
        }

        /// The oldest batch in flight has been settled.
        mutating func batchFinished() {
            _ = inFlight.popFirst()
        }

        /// Refuses new write sets; those queued are still written.
        mutating func shutDown() {
            shuttingDown = true
        }

        var isDrained: Bool { pending.isEmpty && inFlight.isEmpty }
    }
}
