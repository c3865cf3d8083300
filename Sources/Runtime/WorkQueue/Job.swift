import Foundation

/// A job as a handler sees it.
public struct Job: Sendable, Hashable {
    public var id: Int64
    public var kind: String
    public var queue: String
    /// The arguments, as the JSON text they were enqueued with.
    public var args: String
    /// This attempt's number, from 1.
    public var attempt: Int
    public var maxAttempts: Int
    public var uniqueKey: String?

    public init(id: Int64, kind: String, queue: String, args: String, attempt: Int, maxAttempts: Int, uniqueKey: String? = nil) {
        self.id = id
        self.kind = kind
        self.queue = queue
        self.args = args
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
    }

    /// Decodes the arguments.
    public func decodeArgs<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(args.utf8))
    }
}

/// The states of a job row (`jobs.state`).
public enum JobState: String, Sendable, CaseIterable {
    /// Waiting for `run_at`, or for a worker.
    case available
    /// Leased by a worker until `lease_until`.
    case running
    case completed
    /// Failed; runs again at `run_at`.
    case retryable
    /// Failed for good (attempts exhausted, or the handler said so); kept for inspection.
    case discarded
    case cancelled
}

/// What a handler decided about its job.
public enum JobOutcome: Sendable, Hashable {
    case completed
    /// Run again after `after` (counts as an attempt).
    case retry(after: Duration)
    /// Give up now; `reason` is kept in `last_error`.
    case discard(reason: String)
}

/// What is written back for a finished attempt; decided without I/O.
struct JobFinalization: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case completed
        case retry(after: Duration)
        case discarded
    }

    var jobID: Int64
    var attempt: Int
    var kind: Kind
    var error: String?

    /// The finalization for `job` given what its handler returned or threw: errors retry on
    /// `schedule`, and any retry past `maxAttempts` becomes a discard.
    static func decide(
        _ job: Job, result: Result<JobOutcome, any Error>, schedule: RetrySchedule, unit: Double
    ) -> JobFinalization {
        switch result {
        case .success(.completed):
            return JobFinalization(jobID: job.id, attempt: job.attempt, kind: .completed)
        case .success(.discard(let reason)):
            return JobFinalization(jobID: job.id, attempt: job.attempt, kind: .discarded, error: reason)
        case .success(.retry(let delay)):
            return retryOrDiscard(job, after: delay, error: nil)
        case .failure(let error):
            return retryOrDiscard(job, after: schedule.delay(afterAttempt: job.attempt, unit: unit), error: "\(error)")
        }
    }

    private static func retryOrDiscard(_ job: Job, after delay: Duration, error: String?) -> JobFinalization {
        if job.attempt >= job.maxAttempts {
            let reason = (error ?? "retry requested") + " (attempt \(job.attempt) of \(job.maxAttempts): giving up)"
            return JobFinalization(jobID: job.id, attempt: job.attempt, kind: .discarded, error: reason)
        }
        return JobFinalization(jobID: job.id, attempt: job.attempt, kind: .retry(after: delay), error: error)
    }
}
