-- The persistent work queue (River's model): one row per job, fetched with SKIP LOCKED.
CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    queue text NOT NULL DEFAULT 'default',
    kind text NOT NULL,
    args jsonb NOT NULL DEFAULT '{}',
    state text NOT NULL DEFAULT 'available'
        CONSTRAINT jobs_state_valid CHECK (state IN ('available', 'running', 'completed', 'retryable', 'discarded', 'cancelled')),
    priority smallint NOT NULL DEFAULT 1,
    run_at timestamptz NOT NULL DEFAULT now(),
    attempt int NOT NULL DEFAULT 0,
    max_attempts int NOT NULL DEFAULT 25 CONSTRAINT jobs_max_attempts_positive CHECK (max_attempts > 0),
    locked_by text,
    lease_until timestamptz,
    unique_key text,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempted_at timestamptz,
    finalized_at timestamptz
);

-- Fetching: the next runnable jobs of a kind in a queue, by priority then time.
CREATE INDEX jobs_fetch ON jobs (kind, queue, priority, run_at, id) WHERE state IN ('available', 'retryable');
-- Rescuing: running jobs whose lease expired.
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
-- Unique jobs: one unfinished job per key.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('available', 'running', 'retryable');
-- Pruning finished jobs.
CREATE INDEX jobs_finalized ON jobs (finalized_at) WHERE finalized_at IS NOT NULL;

-- Recurring jobs: the next slot of each schedule. Advancing it with a compare-and-set is
-- what makes a slot enqueue exactly once across processes.
CREATE TABLE job_schedules (
    name text PRIMARY KEY,
    next_run_at timestamptz NOT NULL
);
