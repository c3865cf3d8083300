import Foundation

/// Every SQL statement of the work queue, in one place.
public enum JobQueries {
    /// The channel enqueuers notify (payload: the job's kind) and producers listen on.
    public static let channel = "intake_jobs"

    static let unfinished = "('available', 'running', 'retryable')"

    /// One job, returning `(id, duplicate)`; a unique key that matches an unfinished job
    /// returns that job. Run it together with `notify(kinds:)`.
    public static func insert(_ request: JobRequest) -> PostgresStatement {
        PostgresStatement(
            """
            WITH inserted AS (
                INSERT INTO jobs (kind, queue, args, priority, run_at, max_attempts, unique_key)
                VALUES ($1, $2, $3::jsonb, $4, COALESCE($5, now()), $6, $7)
                ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state IN \(unfinished) DO NOTHING
                RETURNING id
            )
            SELECT id, false AS duplicate FROM inserted
            UNION ALL
            SELECT id, true FROM jobs
            WHERE unique_key = $7 AND state IN \(unfinished) AND NOT EXISTS (SELECT 1 FROM inserted)
            LIMIT 1
            """,
            [
                .text(request.kind), .text(request.queue), .text(request.args), .int16(request.priority),
                request.runAt.map { .timestamptz($0) } ?? .null, .int32(Int32(clamping: request.maxAttempts)),
                .optionalText(request.uniqueKey),
            ])
    }

    /// Many jobs without unique keys in one statement (`unnest`), for bulk enqueue and write
    /// sets. Run it together with `notify(kinds:)`.
    public static func insertMany(_ requests: [JobRequest]) -> PostgresStatement {
        PostgresStatement(
            """
            INSERT INTO jobs (kind, queue, args, priority, run_at, max_attempts)
            SELECT kind, queue, args::jsonb, priority, COALESCE(to_timestamp(NULLIF(run_at, 'NaN')), now()), max_attempts
            FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::float8[], $6::int4[])
                AS j(kind, queue, args, priority, run_at, max_attempts)
            """,
            [
                .textArray(requests.map(\.kind)), .textArray(requests.map(\.queue)), .textArray(requests.map(\.args)),
                .int32Array(requests.map { Int32($0.priority) }),
                .float8Array(requests.map { $0.runAt?.timeIntervalSince1970 ?? .nan }),
                .int32Array(requests.map { Int32(clamping: $0.maxAttempts) }),
            ])
    }

    /// Wakes the producers of `kinds` once the transaction commits.
    public static func notify(kinds: some Sequence<String>) -> PostgresStatement {
        PostgresStatement(
            "SELECT pg_notify('\(channel)', kind) FROM unnest($1::text[]) AS kind",
            [.textArray(Array(Set(kinds)).sorted())])
    }

    /// Leases up to `$3` runnable jobs of kind `$1` in queue `$2` to owner `$4` for `$5` ms.
    static let fetch = """
        WITH next AS (
            SELECT id FROM jobs
            WHERE kind = $1 AND queue = $2 AND state IN ('available', 'retryable') AND run_at <= now()
            ORDER BY priority, run_at, id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, attempted_at = now(),
            locked_by = $4, lease_until = now() + $5 * interval '1 millisecond'
        FROM next WHERE jobs.id = next.id
        RETURNING jobs.id, jobs.args::text AS args, jobs.attempt, jobs.max_attempts, jobs.unique_key
        """

    /// Writes a batch of finished attempts. The `attempt` and `state = 'running'` guards make
    /// a late completion of a job that was rescued or released a no-op.
    static let finalize = """
        UPDATE jobs SET
            state = f.state,
            run_at = CASE WHEN f.state = 'retryable' THEN now() + f.delay_ms * interval '1 millisecond' ELSE jobs.run_at END,
            last_error = COALESCE(NULLIF(f.error, ''), jobs.last_error),
            finalized_at = CASE WHEN f.state IN ('completed', 'discarded') THEN now() END,
            locked_by = NULL, lease_until = NULL
        FROM unnest($1::int8[], $2::int4[], $3::text[], $4::int8[], $5::text[]) AS f(id, attempt, state, delay_ms, error)
        WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running'
        """

    /// Extends the leases of jobs `$1` held by `$2` by `$3` ms.
    static let extendLeases = """
        UPDATE jobs SET lease_until = now() + $3 * interval '1 millisecond'
        WHERE id = ANY($1::int8[]) AND locked_by = $2 AND state = 'running'
        """

    /// Gives jobs `$1` held by `$2` back, as if never attempted (graceful shutdown).
    static let release = """
        UPDATE jobs SET state = 'available', attempt = attempt - 1, locked_by = NULL, lease_until = NULL
        WHERE id = ANY($1::int8[]) AND locked_by = $2 AND state = 'running'
        RETURNING id
        """

    /// Makes running jobs whose lease expired runnable again (or discards them when out of
    /// attempts); returns their ids.
    static let rescue = """
        UPDATE jobs SET
            state = CASE WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END,
            finalized_at = CASE WHEN attempt >= max_attempts THEN now() END,
            last_error = 'lease expired: worker ' || COALESCE(locked_by, '?') || ' stopped answering',
            locked_by = NULL, lease_until = NULL, run_at = now()
        WHERE state = 'running' AND lease_until < now()
        RETURNING id, kind, state
        """

    /// Deletes jobs finalized more than `$1` ms ago, at most `$2` at a time.
    static let prune = """
        DELETE FROM jobs WHERE id IN (
            SELECT id FROM jobs WHERE finalized_at < now() - $1 * interval '1 millisecond' LIMIT $2
        )
        """
}
