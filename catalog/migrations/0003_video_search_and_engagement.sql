-- Search, reactions, views and trending for videos. Conventions as in 0002.
--
-- The listing rule (lists, search, feeds, trending show only public, ready videos) is repeated
-- in the WHERE of the partial indexes below, so the planner can use them for exactly the
-- queries that apply the rule.

-- Counters change on every like and view: leave room on each page for the new row version,
-- so those updates stay HOT (no index entries written; the indexes here are large).
ALTER TABLE videos SET (fillfactor = 90);

-- A video becomes published the first time it is ready and not private; whichever writer
-- changes status or privacy (the API, the processing pipeline), the date is recorded here.
CREATE FUNCTION videos_set_published_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.published_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER videos_published_at
    BEFORE INSERT OR UPDATE OF status, privacy ON videos
    FOR EACH ROW
    WHEN (NEW.published_at IS NULL AND NEW.status = 'ready' AND NEW.privacy <> 'private')
    EXECUTE FUNCTION videos_set_published_at();
-- Videos published before the trigger existed: their creation is the best date known.
UPDATE videos SET published_at = created_at
    WHERE published_at IS NULL AND status = 'ready' AND privacy <> 'private';

-- Full-text search: title weighs most (A), then tags (B), then the description (C). The
-- 'english' configuration stems ("streaming" finds "stream") and drops stop words.
-- array_to_string is only STABLE in general (element output functions); for text[] it is
-- immutable, which a generated column needs, hence the wrapper. PostgreSQL recomputes the
-- column only when title, tags or description change, not on counter updates.
CREATE FUNCTION video_search_document(title text, tags text[], description text)
    RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', array_to_string(tags, ' ')), 'B')
        || setweight(to_tsvector('english', description), 'C');

ALTER TABLE videos ADD COLUMN search_document tsvector
    GENERATED ALWAYS AS (video_search_document(title, tags, description)) STORED;

CREATE INDEX videos_search_document ON videos USING gin (search_document)
    WHERE privacy = 'public' AND status = 'ready';
-- Typos: trigram word similarity of the query against titles (pg_trgm's <% operator).
CREATE INDEX videos_title_trigrams ON videos USING gin (title gin_trgm_ops)
    WHERE privacy = 'public' AND status = 'ready';

-- One reaction per user per video. A switch rewrites kind and created_at (the moment of the
-- current choice: trending counts reactions chosen within its window).
CREATE TYPE reaction_kind AS ENUM ('like', 'dislike');

CREATE TABLE video_reactions (
    video_id    bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        reaction_kind NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, user_id)
);
CREATE INDEX video_reactions_user ON video_reactions (user_id);
CREATE INDEX video_reactions_recent ON video_reactions (created_at, video_id);

-- Counted views, one per viewer per video per clock hour (UTC): the primary key is the dedupe.
-- viewer: 16 bytes of SHA-256 over "user:<id>", "session:<id>" or "ip:<address>", so the table
-- holds no addresses or session ids and every key has the same small size.
CREATE TABLE video_views (
    video_id  bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    viewer    bytea NOT NULL CHECK (octet_length(viewer) = 16),
    hour      timestamptz NOT NULL,
    PRIMARY KEY (video_id, viewer, hour)
);
-- Trending reads the views of a recent window: an index-only scan of this.
CREATE INDEX video_views_hour ON video_views (hour, video_id);

-- Trending: hot scores of the videos with activity in the recent window, recomputed in the
-- background (catalog/trending.py has the formula); a request reads the top of the index.
CREATE TABLE video_hot_scores (
    video_id     bigint PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
    score        double precision NOT NULL CHECK (score > 0),
    computed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX video_hot_scores_rank ON video_hot_scores (score, video_id);
