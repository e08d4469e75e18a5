-- The newest listed videos of every channel (GET /videos: a home page's "latest"), by
-- publication time (creation time until one is recorded). Not partial on the listing rule,
-- for the reason given with videos_channel_listed (0004).
CREATE INDEX videos_recent_listed
    ON videos (privacy, status, (coalesce(published_at, created_at)) DESC, id DESC);
