-- Which snapshot of Postgres a run extracted (its xmax, and the clock in the same statement
-- to order two snapshots of equal xmax): two runs of one day load in the order they
-- extracted, whatever order they finish in — the later snapshot is the one a day keeps.
ALTER TABLE etl_runs ADD COLUMN snapshot_xmax bigint, ADD COLUMN snapshot_at timestamptz;
