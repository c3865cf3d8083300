-- Every unit of stock that entered or left the catalog other than through orders: a product's
-- initial stock, restocks (positive) and write-offs (negative), one row per change, written in
-- the transaction of the change. Per product, available + reserved + shipped over its shards
-- equals the sum of its deltas (the data-quality check stock.conservation).
CREATE TABLE stock_ledger (
    id bigserial PRIMARY KEY,
    product_id uuid NOT NULL,
    delta bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_ledger_product ON stock_ledger (product_id);

-- Products that exist already: their stock on hand is their opening balance.
INSERT INTO stock_ledger (product_id, delta)
SELECT product_id, sum(available + reserved + shipped) FROM stock_shards GROUP BY product_id;
