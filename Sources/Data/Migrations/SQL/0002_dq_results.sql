-- Data-quality check results (DATA.md "Data quality"): one row per check per evaluation.
CREATE TABLE dq_results (
    id bigserial PRIMARY KEY,
    check_name text NOT NULL,
    severity text NOT NULL CONSTRAINT dq_results_severity_valid CHECK (severity IN ('error', 'warn')),
    passed boolean NOT NULL,
    measured double precision NOT NULL,
    threshold text NOT NULL,
    detail text,
    checked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dq_results_latest ON dq_results (check_name, checked_at DESC, id DESC);
