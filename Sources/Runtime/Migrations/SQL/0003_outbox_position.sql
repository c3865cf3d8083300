-- The outbox is written once: instead of marking every published row (a second write of each
-- event, dead tuples, index churn), the relay keeps one position, the (txid, id) of the last
-- event it published. Rows are published in (txid, id) order, and only rows whose transaction
-- id is below the oldest running transaction's (pg_snapshot_xmin of the current snapshot):
-- no row can ever appear below the position afterwards. One aggregate's changes are made one
-- after another (its actor waits for each commit), so their order is kept. The price: the
-- oldest running transaction is cluster-wide, so a long write transaction anywhere in the
-- cluster holds publication back (never loses anything) until it ends.
ALTER TABLE outbox ADD COLUMN txid xid8 NOT NULL DEFAULT '0';
ALTER TABLE outbox ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
CREATE INDEX outbox_relay_order ON outbox (txid, id);

CREATE TABLE outbox_position (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    txid xid8 NOT NULL,
    event_id bigint NOT NULL
);
-- Rows written before this migration have txid 0 and come first, by id: the position starts
-- just before the oldest one not yet published (published rows after it go out again, which
-- at-least-once delivery allows).
INSERT INTO outbox_position (txid, event_id)
SELECT '0', COALESCE((SELECT min(id) - 1 FROM outbox WHERE published_at IS NULL), (SELECT max(id) FROM outbox), 0);

DROP INDEX outbox_unpublished;
ALTER TABLE outbox DROP COLUMN published_at;
