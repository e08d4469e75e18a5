-- Resumable uploads (tus 1.0, vod/uploads/, catalog/uploads.py): one row per upload, made right
-- after its video (status 'uploading'). The bytes wait in the receiving node's staging directory
-- until the last one arrives, then go to storage and the video on to processing.
-- Conventions as in 0002.
CREATE TABLE uploads (
    -- 22 base64url characters (128 random bits): the upload URL is all a client needs to
    -- resume, so it must not be guessable (the owner check stands behind it as well).
    id             text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{22}$'),
    video_id       bigint NOT NULL UNIQUE REFERENCES videos (id) ON DELETE CASCADE,
    owner_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    upload_length  bigint NOT NULL CHECK (upload_length > 0),
    -- Bytes received and fsynced on the staging disk before this moves, so it is never ahead of
    -- the staged file; a crash can leave the file longer, and the next PATCH cuts it back.
    upload_offset  bigint NOT NULL DEFAULT 0 CHECK (upload_offset BETWEEN 0 AND upload_length),
    -- Upload-Metadata as the client sent it, decoded: {"title": "…", "filename": "…", …}.
    metadata       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    expires_at     timestamptz NOT NULL,  -- pushed back by every byte received
    created_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,           -- the last byte arrived
    stored_at      timestamptz,           -- the bytes are in storage and the video was handed on
    CHECK ((completed_at IS NOT NULL) = (upload_offset = upload_length)),
    CHECK (stored_at IS NULL OR completed_at IS NOT NULL)
);
-- The sweeper's questions: which unfinished uploads expired, which finished ones still wait to
-- be handed on (after a crash or a storage failure).
CREATE INDEX uploads_expiring ON uploads (expires_at) WHERE completed_at IS NULL;
CREATE INDEX uploads_unstored ON uploads (completed_at)
    WHERE completed_at IS NOT NULL AND stored_at IS NULL;
CREATE INDEX uploads_owner ON uploads (owner_id);
