-- Postgres alone absorbing Intake's order write set (scripts/load-bench's ceiling run; the
-- "lean" path of ../shared/bench/run-ceiling adapted to this schema): 500 single-item orders
-- per transaction over 16 products (both set below), generated inside Postgres, into the real tables with every index — the
-- order row (time-ordered id), its item (with its shard), its `order.created` outbox row of
-- the size the server writes, and the shard moves summed per shard. No client cost at all:
-- the physical limit an order's write set can approach. With `keyed` 1 each order also carries
-- an idempotency key (scoped to its user, as a keyed POST or `intake load` writes it), so its
-- `orders_idempotency` index entry is part of the write set.
\set batch 500
\set keyed 0
\set products 16
BEGIN;
WITH b AS (
  SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000000)::bigint), 16, '0') || substr(md5(random()::text), 1, 16))::uuid AS oid,
         ('00000000-0000-4000-8000-' || lpad((1 + floor(random() * 32))::int::text, 12, '0'))::uuid AS uid,
         ('00000000-0000-4000-8000-' || lpad((1 + floor(random() * :products))::int::text, 12, '0'))::uuid AS pid,
         floor(random() * 8)::int AS shard, gen_random_uuid() AS eid, now() AS t
  FROM generate_series(1, :batch)
), o AS (
  INSERT INTO orders (id, user_id, status, amount, region, created_at, updated_at, expires_at, idempotency_key, idempotency_scope)
  SELECT oid, uid, 'PENDING', 3.10, NULL, t, t, t + interval '15 minutes',
         CASE WHEN :keyed = 1 THEN 'key-' || oid END, CASE WHEN :keyed = 1 THEN uid END FROM b RETURNING 1
), i AS (
  INSERT INTO order_items (order_id, product_id, shard, quantity, unit_price) SELECT oid, pid, shard, 1, 3.10 FROM b RETURNING 1
), e AS (
  INSERT INTO outbox (event_id, aggregate_type, aggregate_id, event_type, event)
  SELECT eid, 'order', oid::text, 'com.example.order.created',
         '{"specversion":"1.0","id":"' || eid || '","source":"/intake/orders","type":"com.example.order.created","subject":"' || oid
         || '","time":"2026-11-30T05:11:44.704Z","datacontenttype":"application/json","data":{"orderId":"' || oid || '","userId":"' || uid
         || '","amount":"3.10","items":[{"productId":"' || pid || '","quantity":1}]}}'
  FROM b RETURNING 1
)
UPDATE stock_shards s SET available = s.available - d.n, reserved = s.reserved + d.n, level_changed = true
FROM (SELECT pid, shard, count(*)::int AS n FROM b GROUP BY pid, shard) d
WHERE s.product_id = d.pid AND s.shard = d.shard;
COMMIT;
