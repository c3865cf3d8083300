-- An order's Idempotency-Key belongs to the caller who sent it (API.md: keys are scoped to
-- the authenticated user), who is not the order's owner when an admin orders for a customer.
ALTER TABLE orders ADD COLUMN idempotency_scope uuid;
UPDATE orders SET idempotency_scope = user_id WHERE idempotency_key IS NOT NULL;
DROP INDEX orders_idempotency;
CREATE UNIQUE INDEX orders_idempotency ON orders (idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL;
