-- One row per pipeline run (DATA.md "Run record"): what went in, what came out, how it ended.
CREATE TABLE etl_runs (
    id uuid PRIMARY KEY,
    pipeline text NOT NULL,
    logical_date date NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CONSTRAINT etl_runs_status_valid CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    trigger text NOT NULL CONSTRAINT etl_runs_trigger_valid CHECK (trigger IN ('schedule', 'manual', 'backfill')),
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    -- Control totals of the extract, read in the extract's snapshot; reconciliation compares
    -- what was loaded against them.
    orders_extracted bigint,
    source_revenue numeric(18,2),
    source_units bigint,
    rows_loaded bigint,
    revenue numeric(18,2),
    output text,
    error text
);
CREATE INDEX etl_runs_recent ON etl_runs (pipeline, created_at DESC, id DESC);
CREATE INDEX etl_runs_recent_all ON etl_runs (created_at DESC, id DESC);
CREATE INDEX etl_runs_unfinished ON etl_runs (status) WHERE status IN ('queued', 'running');
-- The schedule runs a day once, however many processes and retries.
CREATE UNIQUE INDEX etl_runs_scheduled_once ON etl_runs (pipeline, logical_date) WHERE trigger = 'schedule';
