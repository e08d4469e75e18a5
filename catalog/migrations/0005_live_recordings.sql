-- Live recordings: every live stream is recorded unless its creator turns that off, and becomes
-- a ready video when it ends (vod/recording, catalog/recordings.py). Conventions as in 0002.

-- Read when a publish starts a stream: turning it off takes effect at the next stream.
ALTER TABLE live_streams ADD COLUMN record boolean NOT NULL DEFAULT true;

-- Where a ready video's multivariant playlist is kept: a storage key (vod/storage/base.py has
-- the rules, repeated here), never a path a client chose. Its renditions' media playlists are
-- renditions.playlist_path; media files sit beside them, as the playlists' relative URIs say.
ALTER TABLE videos ADD COLUMN playlist_path text CHECK (
    playlist_path ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,127})*$'
    AND octet_length(playlist_path) <= 1024);

-- A video needs a channel, but streams made by `tributary stream create` have none: their
-- recordings go to one operator channel, made on first use, owned by a disabled account that
-- cannot log in (admins manage its videos). Found through this one-row table, never by a
-- handle someone could have registered first.
CREATE TABLE operator_channel (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    channel_id  bigint NOT NULL UNIQUE REFERENCES channels (id) ON DELETE CASCADE
);
