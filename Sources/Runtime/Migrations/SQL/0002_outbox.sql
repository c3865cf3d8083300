-- The transactional outbox: events are written in the same transaction as the state change
-- they describe, and the relay publishes them afterwards, at least once.
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL,
    aggregate_type text NOT NULL,
    aggregate_id text NOT NULL,
    event_type text NOT NULL,
    -- The whole CloudEvents 1.0 structured-mode JSON, as published.
    event text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

-- The relay's work list: small, since published rows leave it.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
