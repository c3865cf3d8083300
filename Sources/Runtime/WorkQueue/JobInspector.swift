import Foundation

/// What operators ask the work queue (`intake jobs`): depth by state, discarded jobs, a retry,
/// and the state of every recurring job.
public struct JobInspector: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Jobs per state, every state present (0 when none).
    public func depth() async throws -> [(state: JobState, count: Int)] {
        let rows = try await client.query(JobInspectorQueries.depth)
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.decode("state")] = try row.decode("n") }
        return JobState.allCases.map { ($0, counts[$0.rawValue] ?? 0) }
    }

    /// A discarded job, as the inspector lists it.
    public struct DiscardedJob: Sendable, Hashable {
        public var id: Int64
        public var kind: String
        public var attempt: Int
        public var maxAttempts: Int
        public var finalizedAt: Date?
        public var lastError: String?
    }

    /// The most recently discarded jobs first.
    public func discarded(limit: Int = 50) async throws -> [DiscardedJob] {
        try await client.query(JobInspectorQueries.discarded, [.int(limit)]).map { row in
            DiscardedJob(
                id: try row.decode("id"), kind: try row.decode("kind"), attempt: try row.decode("attempt"),
                maxAttempts: try row.decode("max_attempts"), finalizedAt: try row.decode("finalized_at"),
                lastError: try row.decode("last_error"))
        }
    }

    /// Makes a discarded (or cancelled) job available again now, with its attempts reset;
    /// false when there is no such job in those states.
    public func retry(_ id: Int64) async throws -> Bool {
        let results = try await client.pipeline([
            PostgresStatement(JobInspectorQueries.retry, [.int64(id)]),
            PostgresStatement("SELECT pg_notify('\(JobQueries.channel)', kind) FROM jobs WHERE id = $1", [.int64(id)]),
        ])
        return !results[0].isEmpty
    }

    /// The last job a recurring schedule enqueued.
    public struct LastRun: Sendable, Hashable {
        public var state: JobState?
        public var startedAt: Date?
        public var finishedAt: Date?
        /// What the run came to, where a job only starts the real work (a pipeline's run
        /// status, `succeeded` or `failed`); shown instead of the job's state.
        public var outcome: String?

        public init(state: JobState?, startedAt: Date?, finishedAt: Date?, outcome: String? = nil) {
            self.state = state
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.outcome = outcome
        }

        /// Seconds the last attempt took, when it has finished.
        public var duration: Double? {
            guard let startedAt, let finishedAt else { return nil }
            return finishedAt.timeIntervalSince(startedAt)
        }
    }

    /// The last run of each named schedule (nil: never ran).
    public func lastRuns(of names: [String]) async throws -> [String: LastRun] {
        var result: [String: LastRun] = [:]
        for name in names {
            let rows = try await client.query(JobInspectorQueries.lastScheduled, [.text("schedule:\(name):%")])
            if let row = rows.first {
                let state: String = try row.decode("state")
                result[name] = LastRun(
                    state: JobState(rawValue: state), startedAt: try row.decode("attempted_at"), finishedAt: try row.decode("finalized_at"))
            }
        }
        return result
    }
}

/// The inspector's SQL, in one place.
enum JobInspectorQueries {
    static let depth = "SELECT state, count(*)::int8 AS n FROM jobs GROUP BY state"
    static let discarded = """
        SELECT id, kind, attempt, max_attempts, finalized_at, last_error FROM jobs
        WHERE state = 'discarded' ORDER BY finalized_at DESC NULLS LAST, id DESC LIMIT $1
        """
    static let retry = """
        UPDATE jobs SET state = 'available', attempt = 0, run_at = now(), finalized_at = NULL, locked_by = NULL, lease_until = NULL
        WHERE id = $1 AND state IN ('discarded', 'cancelled') RETURNING id
        """
    static let lastScheduled = """
        SELECT state, attempted_at, finalized_at FROM jobs WHERE unique_key LIKE $1 ORDER BY id DESC LIMIT 1
        """
}
