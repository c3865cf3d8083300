-- When the process that recorded a schedule started: processes configured differently (a
-- rolling change of INTAKE_ETL_SCHEDULE) follow the schedule of the one started last instead
-- of rewriting the row in turn, which kept moving the slot so that neither schedule fired.
ALTER TABLE job_schedules ADD COLUMN configured_at timestamptz NOT NULL DEFAULT 'epoch';
