-- Set by every stock move that changes a shard's `available`, cleared by the transaction that
-- writes the product's coalesced `inventory.updated` event (`InventoryUpdates`): a change
-- whose process stopped before announcing it is found and announced by the
-- `intake.inventory.announce-pending` job. Not indexed, so setting it keeps the shard's
-- updates HOT.
ALTER TABLE stock_shards ADD COLUMN level_changed boolean NOT NULL DEFAULT false;
