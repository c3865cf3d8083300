-- Users. Personal data (email, name) is stored only encrypted, under a per-user data key
-- that is itself stored wrapped by the master key (INTAKE_PII_KEY). Erasure deletes the
-- wrapped key and the ciphertexts (crypto-shredding): the row stays, with nothing personal,
-- so that orders keep a valid user_id.
CREATE TABLE users (
    id uuid PRIMARY KEY,
    role text NOT NULL CONSTRAINT users_role_valid CHECK (role IN ('customer', 'admin')),
    -- HMAC-SHA256 of the normalised email under a key derived from the master key: unique
    -- lookup without storing the address.
    email_lookup bytea,
    email_cipher bytea,
    name_cipher bytea,
    region text,
    password_hash text,
    data_key bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at timestamptz,
    CONSTRAINT users_erased_or_whole CHECK (
        (erased_at IS NULL AND email_lookup IS NOT NULL AND email_cipher IS NOT NULL AND data_key IS NOT NULL AND password_hash IS NOT NULL)
        OR (erased_at IS NOT NULL AND email_lookup IS NULL AND email_cipher IS NULL AND name_cipher IS NULL AND data_key IS NULL AND password_hash IS NULL))
);
CREATE UNIQUE INDEX users_email_lookup ON users (email_lookup) WHERE email_lookup IS NOT NULL;
