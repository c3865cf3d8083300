-- Not idempotent on purpose: applying it twice fails, so a test can tell.
CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO widgets VALUES (1, 'first');
