-- Archive months that left Postgres (only their Parquet stays): any process can tell a
-- cold day from an empty one, whatever its own INTAKE_COLD_AFTER says.
CREATE TABLE cold_months (
    month date PRIMARY KEY,
    went_cold_at timestamptz NOT NULL DEFAULT now()
);
