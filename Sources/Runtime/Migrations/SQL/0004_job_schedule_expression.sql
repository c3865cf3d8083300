-- The schedule each row's next slot was computed from: when a process starts with another
-- (INTAKE_ETL_SCHEDULE changed), the next slot is computed again instead of waiting for the
-- old one. '' for rows written before: the first tick records the running schedule.
ALTER TABLE job_schedules ADD COLUMN schedule text NOT NULL DEFAULT '';
