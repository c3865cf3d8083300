extension DailySales {
    /// How one attempt of a step ended.
    enum StepEvent: Sendable, Hashable {
        /// The step did its work.
        case stepDone(Step)
        /// The loaded totals do not match the extract's: a fact about the data, not a fault
        /// that a retry could fix.
        case reconciliationFailed(String)
        /// The step's staged input is gone (another machine, a cleaned directory).
        case stagedInputMissing
        /// Anything else went wrong (database, DuckDB, disk).
        case stepFailed(String)
    }

    /// What the runner must do about it.
    enum StepAction: Sendable, Hashable {
        /// Record the step and queue `next`, in one transaction.
        case queueNext(Step)
        /// The load committed: mark the run succeeded.
        case markSucceeded
        /// Fail the run (with its alert); the job itself is done.
        case failRun(String)
        /// The last attempt failed: fail the run, then let the queue discard the job.
        case failRunAndGiveUp(String)
        /// Queue the run's extract again.
        case restartFromExtract
        /// Let the queue retry the job.
        case retry
    }

    /// The decision, without I/O: the run's life cycle is `queued` → `running` (first step) →
    /// `succeeded` (load committed) or `failed` (reconciliation, or a step's last attempt).
    static func decide(_ event: StepEvent, attempt: Int, maxAttempts: Int) -> StepAction {
        switch event {
        case .stepDone(let step):
            return step.next.map(StepAction.queueNext) ?? .markSucceeded
        case .reconciliationFailed(let reason):
            return .failRun(reason)
        case .stagedInputMissing:
            return .restartFromExtract
        case .stepFailed(let reason):
            return attempt >= maxAttempts ? .failRunAndGiveUp(reason) : .retry
        }
    }
}
