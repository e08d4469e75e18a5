-- Live streams and their publishing keys. Keys are random 256-bit secrets, so a SHA-256 digest
-- is enough to store them (no slow hash needed for high-entropy tokens); the plain key is shown
-- once, at creation.
CREATE TABLE live_streams (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    title       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stream_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id   bigint NOT NULL REFERENCES live_streams (id) ON DELETE CASCADE,
    key_sha256  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE INDEX stream_keys_stream_id ON stream_keys (stream_id);
