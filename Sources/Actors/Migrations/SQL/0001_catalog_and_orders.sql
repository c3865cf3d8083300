-- Products and their stock, split into shards so that a hot product is not one hot row.
CREATE TABLE products (
    id uuid PRIMARY KEY,
    sku text NOT NULL CONSTRAINT products_sku_key UNIQUE,
    name text NOT NULL,
    price numeric(12,2) NOT NULL CONSTRAINT products_price_nonnegative CHECK (price >= 0),
    stock_shards int NOT NULL CONSTRAINT products_shards_range CHECK (stock_shards BETWEEN 1 AND 64),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Per shard: units anyone may reserve, units held by PENDING/PAID orders, units shipped.
-- available + reserved + shipped moves only with restocks (and write-offs).
CREATE TABLE stock_shards (
    product_id uuid NOT NULL REFERENCES products (id),
    shard int NOT NULL,
    available int NOT NULL CONSTRAINT stock_available_nonnegative CHECK (available >= 0),
    reserved int NOT NULL DEFAULT 0 CONSTRAINT stock_reserved_nonnegative CHECK (reserved >= 0),
    shipped bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (product_id, shard)
);

-- Orders, on the lean write path: time-ordered ids, the creating request's idempotency
-- record on the order row itself (no separate row or random-key index per order).
CREATE TABLE orders (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    status text NOT NULL CONSTRAINT orders_status_valid CHECK (status IN ('PENDING', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELED')),
    amount numeric(12,2) NOT NULL,
    region text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    idempotency_key text,
    request_hash bytea,
    version int NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX orders_idempotency ON orders (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- The payment-timeout sweep's index: small, since paid and canceled orders leave it.
CREATE INDEX orders_pending_expiry ON orders (expires_at) WHERE status = 'PENDING';
CREATE INDEX orders_user ON orders (user_id, id DESC);

-- Each item records the shard its units came from (an item split across shards is several rows).
CREATE TABLE order_items (
    order_id uuid NOT NULL,
    product_id uuid NOT NULL,
    shard int NOT NULL,
    quantity int NOT NULL CONSTRAINT order_items_quantity_positive CHECK (quantity > 0),
    unit_price numeric(12,2) NOT NULL,
    PRIMARY KEY (order_id, product_id, shard)
);

-- Payments applied, so that a provider's retry of the same payment has no second effect.
CREATE TABLE payments (
    payment_id text PRIMARY KEY,
    order_id uuid NOT NULL,
    amount numeric(12,2) NOT NULL,
    status text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
