-- Comments (threaded, likes, pins, moderation), subscriptions and the subscription feed, watch
-- history with resume positions, playlists (with each user's "watch later"), and the indexes
-- related videos need. Conventions as in 0002.

-- Comments have two levels, as on YouTube: a top-level comment starts a thread (thread_id NULL);
-- every reply belongs to one thread (thread_id = its top-level comment) and may name the comment
-- it answers (reply_to_id: the top-level comment or another reply), so clients can show
-- "@name" without deeper nesting.
--
-- Soft delete erases the text (body = '') and keeps the row, so a thread keeps its shape; a
-- moderator's hide keeps the text for moderators. Counters count live comments (neither deleted
-- nor hidden): videos.comment_count all of them, comments.reply_count a thread's replies.
-- Every write that changes them locks the video's row first, so they stay exact and writers of
-- one video never deadlock.
CREATE TABLE comments (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_id           bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    author_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id          bigint REFERENCES comments (id) ON DELETE CASCADE,
    reply_to_id        bigint REFERENCES comments (id) ON DELETE CASCADE,
    body               text NOT NULL CHECK (char_length(body) <= 10000),
    -- A moment of the video the comment is about (live-chat messages replayed on a VOD).
    timestamp_seconds  double precision
                       CHECK (timestamp_seconds >= 0 AND timestamp_seconds <= 10000000),
    like_count         bigint NOT NULL DEFAULT 0 CHECK (like_count >= 0),
    reply_count        bigint NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    edited_at          timestamptz,
    deleted_at         timestamptz,
    hidden_at          timestamptz,
    pinned_at          timestamptz,
    CHECK ((body = '') = (deleted_at IS NOT NULL)),
    CHECK (thread_id IS NOT NULL OR reply_to_id IS NULL),
    CHECK (pinned_at IS NULL OR (thread_id IS NULL AND deleted_at IS NULL AND hidden_at IS NULL))
);
-- Threads newest first and by likes ("top"); a thread's replies oldest first.
CREATE INDEX comments_threads_newest ON comments (video_id, id DESC) WHERE thread_id IS NULL;
CREATE INDEX comments_threads_top ON comments (video_id, like_count DESC, id DESC)
    WHERE thread_id IS NULL;
CREATE INDEX comments_replies ON comments (thread_id, id) WHERE thread_id IS NOT NULL;
CREATE INDEX comments_reply_to ON comments (reply_to_id) WHERE reply_to_id IS NOT NULL;
CREATE UNIQUE INDEX comments_one_pinned ON comments (video_id) WHERE pinned_at IS NOT NULL;

CREATE TABLE comment_likes (
    comment_id  bigint NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (comment_id, user_id)
);

CREATE TABLE subscriptions (
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id  bigint NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel_id)
);
CREATE INDEX subscriptions_recent ON subscriptions (user_id, created_at DESC, channel_id DESC);
CREATE INDEX subscriptions_channel ON subscriptions (channel_id);

-- The subscription feed reads, per subscribed channel, its newest listed videos: only public,
-- ready ones (the listing rule), by publication time (creation time until one is recorded).
-- Not a partial index on the listing rule: the planner would take such a small index as a
-- cheap source of "every listed video" and prefer it to the search indexes.
CREATE INDEX videos_channel_listed
    ON videos (channel_id, privacy, status, (coalesce(published_at, created_at)) DESC, id DESC);
-- Related videos: listed videos sharing a tag.
CREATE INDEX videos_listed_tags ON videos USING gin (tags)
    WHERE privacy = 'public' AND status = 'ready';

-- One row per (viewer, video): the last position (upserted), when it was last watched, and
-- whether the viewer ever reached the end (sticky: re-watching does not un-finish a video).
CREATE TABLE watch_history (
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    video_id          bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    position_seconds  double precision NOT NULL
                      CHECK (position_seconds >= 0 AND position_seconds <= 10000000),
    finished          boolean NOT NULL DEFAULT false,
    watched_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, video_id)
);
CREATE INDEX watch_history_recent ON watch_history (user_id, watched_at DESC, video_id DESC);
-- Who watched a video lately (the co-watch sample of related videos).
CREATE INDEX watch_history_viewers ON watch_history (video_id, watched_at DESC);

-- Playlists share the videos' privacy levels and meaning. "Watch later" is a playlist of kind
-- watch_later, at most one per user, made on first use and always private.
CREATE TYPE playlist_kind AS ENUM ('regular', 'watch_later');

CREATE TABLE playlists (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id    text NOT NULL UNIQUE CHECK (public_id ~ '^[A-Za-z0-9_-]{16}$'),
    owner_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         playlist_kind NOT NULL DEFAULT 'regular',
    title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 150),
    description  text NOT NULL DEFAULT '' CHECK (char_length(description) <= 5000),
    privacy      video_privacy NOT NULL DEFAULT 'private',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'regular' OR privacy = 'private')
);
CREATE INDEX playlists_owner ON playlists (owner_id, id DESC);
CREATE UNIQUE INDEX playlists_one_watch_later ON playlists (owner_id) WHERE kind = 'watch_later';

-- Items are ordered by a sparse position: appends and moves take a free number between two
-- neighbours, and only a full gap renumbers the playlist. Writers lock the playlist's row, so
-- concurrent inserts get distinct positions; the deferred unique constraint is the safety net
-- (deferred so that a renumbering may pass through duplicates within its statement).
CREATE TABLE playlist_items (
    playlist_id  bigint NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    video_id     bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    position     bigint NOT NULL CHECK (position >= 1),
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (playlist_id, video_id),
    CONSTRAINT playlist_items_position UNIQUE (playlist_id, position) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX playlist_items_video ON playlist_items (video_id);
