extension JobProducer {
    /// Decides when a producer fetches and how many jobs: never more than its free slots,
    /// never two fetches at once, and only while there may be work (after a notification, a
    /// poll tick, or a fetch that came back full).
    struct StateMachine: Sendable {
        enum Action: Equatable, Sendable {
            case none
            case fetch(limit: Int)
        }

        let concurrency: Int
        /// Fetch only once this many slots are free (or nothing runs), so a busy producer
        /// fetches in batches rather than one job per finished job.
        let fetchThreshold: Int
        private(set) var running = 0
        private(set) var fetching = false
        private(set) var mayHaveWork = true
        private(set) var stopping = false
        /// A wake-up that arrived while a fetch was in flight: that fetch's snapshot may not
        /// include the new job, so a short result must not clear `mayHaveWork`.
        private var wokenDuringFetch = false

        init(concurrency: Int, fetchThreshold: Int? = nil) {
            precondition(concurrency > 0, "concurrency must be positive")
            self.concurrency = concurrency
            self.fetchThreshold = max(1, min(fetchThreshold ?? concurrency / 4, concurrency))
        }

        var freeSlots: Int { concurrency - running }

        /// A notification for this kind, or the poll timer.
        mutating func wakeUp() -> Action {
            mayHaveWork = true
            if fetching { wokenDuringFetch = true }
            return next()
        }

        mutating func fetched(requested: Int, received: Int) -> Action {
            fetching = false
            running += received
            // A short batch means the queue is drained for now; a full one means maybe not.
            mayHaveWork = received == requested || wokenDuringFetch
            wokenDuringFetch = false
            return next()
        }

        mutating func fetchFailed() -> Action {
            fetching = false
            wokenDuringFetch = false
            return .none  // the next tick or notification tries again
        }

        mutating func jobFinished() -> Action {
            running -= 1
            return next()
        }

        /// Stops fetching; running jobs finish.
        mutating func stop() {
            stopping = true
        }

        var isIdle: Bool { running == 0 && !fetching }

        private mutating func next() -> Action {
            guard !stopping, !fetching, mayHaveWork, freeSlots > 0 else { return .none }
            guard freeSlots >= fetchThreshold || running == 0 else { return .none }
            fetching = true
            return .fetch(limit: freeSlots)
        }
    }
}
