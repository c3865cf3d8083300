-- Responses of authenticated POSTs other than order creation (whose record is the order
-- row itself), kept 24 hours for Idempotency-Key replays.
CREATE TABLE idempotency_records (
    user_id uuid NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status int NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_records_created ON idempotency_records (created_at);
