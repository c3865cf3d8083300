-- The daily extract reads one day of orders by created_at. A BRIN index (a few pages, next to
-- nothing to maintain on the insert path, since orders arrive in created_at order) lets it
-- skip the other days' blocks instead of scanning the whole table.
CREATE INDEX IF NOT EXISTS orders_created_at_brin ON orders USING brin (created_at);
