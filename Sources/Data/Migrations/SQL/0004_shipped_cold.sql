-- Units shipped by orders whose archive month went cold (left Postgres; only their Parquet
-- stays), per product and shard: stock conservation still accounts for every shipped unit
-- of a shard after its orders are gone from the database.
CREATE TABLE shipped_cold (
    product_id uuid NOT NULL,
    shard int NOT NULL,
    units bigint NOT NULL,
    PRIMARY KEY (product_id, shard)
);
