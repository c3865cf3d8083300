-- A shard's units on hand (available + reserved) fit its int4 `available` column whatever
-- happens to them next: a restock that left room for less than the units reserved would make
-- the cancel of those reservations overflow (an order that could not be canceled). Checked
-- in int8; NOT VALID so a database that already holds such a row still migrates (new writes
-- are checked).
ALTER TABLE stock_shards ADD CONSTRAINT stock_shards_capacity CHECK (available::int8 + reserved <= 2147483647) NOT VALID;
