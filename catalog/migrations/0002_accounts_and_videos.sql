-- Accounts, channels, refresh tokens, videos with their renditions and thumbnails; live streams
-- gain an owning channel and keys a label.
--
-- Conventions later migrations follow: bigint identity keys (never shown in URLs where guessing
-- them matters: videos have a random public_id, channels a handle), timestamptz, counters as
-- bigint NOT NULL DEFAULT 0 CHECK (>= 0) updated with "x = x + 1" in the same transaction as the
-- row they count, CHECK constraints mirroring the API's validation so a bug cannot store what
-- the API would refuse.

-- pg_trgm is for search (a later migration indexes with it); citext makes e-mail addresses,
-- user names and channel handles unique regardless of case. Both are trusted extensions, so the
-- database owner may create them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TYPE user_role AS ENUM ('viewer', 'creator', 'moderator', 'admin');

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           citext NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    username        citext NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_]{3,30}$'),
    display_name    text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
    password_hash   text NOT NULL,                       -- argon2id, PHC string format
    role            user_role NOT NULL DEFAULT 'viewer',
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);

CREATE TABLE channels (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id          bigint NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    handle            citext NOT NULL UNIQUE CHECK (handle ~ '^[A-Za-z0-9_-]{3,30}$'),
    title             text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    description       text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    subscriber_count  bigint NOT NULL DEFAULT 0 CHECK (subscriber_count >= 0),
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- NULL channel: a stream made by `tributary stream create`, which needs no account.
ALTER TABLE live_streams
    ADD COLUMN channel_id bigint REFERENCES channels (id) ON DELETE CASCADE;
CREATE INDEX live_streams_channel ON live_streams (channel_id, id);

ALTER TABLE stream_keys
    ADD COLUMN label text NOT NULL DEFAULT '' CHECK (char_length(label) <= 100),
    ADD COLUMN last_used_at timestamptz;

-- Opaque refresh tokens, stored as SHA-256 (256-bit random secrets need no slow hash). Every
-- refresh replaces the token with a new one of the same family; presenting a replaced token
-- again means it was stolen (or replayed), so the whole family is revoked.
CREATE TABLE refresh_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id     uuid NOT NULL,
    token_sha256  bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    replaced_by   bigint REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    revoked_at    timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TYPE video_privacy AS ENUM ('public', 'unlisted', 'private');
CREATE TYPE video_status AS ENUM ('uploading', 'processing', 'ready', 'failed');

CREATE TABLE videos (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id         text NOT NULL UNIQUE CHECK (public_id ~ '^[A-Za-z0-9_-]{11}$'),
    channel_id        bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    title             text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description       text NOT NULL DEFAULT '' CHECK (char_length(description) <= 10000),
    tags              text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 30),
    category          text NOT NULL DEFAULT '' CHECK (char_length(category) <= 50),
    language          text NOT NULL DEFAULT '' CHECK (char_length(language) <= 35),  -- BCP 47
    privacy           video_privacy NOT NULL DEFAULT 'private',
    status            video_status NOT NULL DEFAULT 'uploading',
    failure_reason    text CHECK (failure_reason IS NULL OR status = 'failed'),
    progress_percent  smallint NOT NULL DEFAULT 0 CHECK (progress_percent BETWEEN 0 AND 100),
    eta               timestamptz,                       -- expected end of processing
    duration_seconds  double precision CHECK (duration_seconds >= 0),
    source_metadata   jsonb NOT NULL DEFAULT '{}',       -- what probing the upload found
    view_count        bigint NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    like_count        bigint NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    dislike_count     bigint NOT NULL DEFAULT 0 CHECK (dislike_count >= 0),
    comment_count     bigint NOT NULL DEFAULT 0 CHECK (comment_count >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    published_at      timestamptz
);
CREATE INDEX videos_channel ON videos (channel_id, created_at DESC, id DESC);

CREATE TABLE renditions (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_id       bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    name           text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    width          integer NOT NULL CHECK (width > 0),
    height         integer NOT NULL CHECK (height > 0),
    bitrate        integer NOT NULL CHECK (bitrate > 0),  -- bits per second, peak
    codecs         text NOT NULL,                         -- RFC 6381, as in CODECS=
    playlist_path  text NOT NULL,
    UNIQUE (video_id, name)
);

CREATE TYPE thumbnail_kind AS ENUM ('poster', 'thumbnail', 'storyboard');

CREATE TABLE thumbnails (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_id    bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    kind        thumbnail_kind NOT NULL,
    path        text NOT NULL,
    width       integer NOT NULL CHECK (width > 0),
    height      integer NOT NULL CHECK (height > 0),
    chosen      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX thumbnails_video ON thumbnails (video_id);
CREATE UNIQUE INDEX thumbnails_one_chosen ON thumbnails (video_id, kind) WHERE chosen;
