-- The warm tier (DATA.md "Storage lifecycle"): finished orders older than the hot retention
-- move here with their items, in small batches (IntakeData's lifecycle job). Reads of one
-- order look here after the hot table. Same columns as the hot tables.
CREATE TABLE orders_archive (LIKE orders INCLUDING DEFAULTS);
ALTER TABLE orders_archive ADD PRIMARY KEY (id);
CREATE INDEX orders_archive_created ON orders_archive (created_at);
CREATE TABLE order_items_archive (LIKE order_items INCLUDING DEFAULTS);
ALTER TABLE order_items_archive ADD PRIMARY KEY (order_id, product_id, shard);
