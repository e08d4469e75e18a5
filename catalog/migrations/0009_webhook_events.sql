-- Webhooks (webhooks/, docs/webhooks.md): a durable outbox of events and their deliveries.
--
-- An event is recorded in the same transaction as what it reports, so it can be neither lost
-- nor invented: a video's ready/failed by a trigger on its status (every path that finishes a
-- video sets that status: transcode jobs, `tributary vod add`, live recordings), a stream's
-- start and end by the origin that runs it. Workers then make one delivery per event and
-- configured endpoint, and send each with retries until it is delivered or out of tries.

CREATE TABLE webhook_events (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type        text NOT NULL
                CHECK (type IN ('stream.started', 'stream.ended', 'video.ready', 'video.failed')),
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- The JSON document every endpoint is sent, fixed by the worker that made the deliveries
    -- (it adds public URLs, which the database does not know), so retries send the same bytes.
    -- NULL: no deliveries made yet.
    body        text
);
CREATE INDEX webhook_events_undelivered ON webhook_events (created_at) WHERE body IS NULL;
CREATE INDEX webhook_events_created ON webhook_events (created_at);

CREATE TYPE webhook_delivery_state AS ENUM ('pending', 'delivered', 'failed');

-- One event to one endpoint. Its id is the Tributary-Delivery header, the same on every try.
-- A worker claims a due delivery by counting the try and moving next_attempt_at past the time
-- the try may take (a lease): a worker that dies mid-request leaves it due again afterwards.
-- A try's result is written only while attempts still says it is that try.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id         uuid NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    endpoint         text NOT NULL,
    state            webhook_delivery_state NOT NULL DEFAULT 'pending',
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status      integer CHECK (last_status BETWEEN 100 AND 999),
    last_error       text CHECK (char_length(last_error) <= 500),
    finished_at      timestamptz CHECK ((finished_at IS NULL) = (state = 'pending')),
    UNIQUE (event_id, endpoint)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint, next_attempt_at)
    WHERE state = 'pending';

-- Workers LISTEN on this channel, so a new event is sent at once rather than at the next poll.
-- Notifications are delivered at commit, and only then can a worker see the event.
CREATE FUNCTION webhook_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tributary_webhooks', '');
    RETURN NULL;
END $$;
CREATE TRIGGER webhook_events_notify
    AFTER INSERT ON webhook_events
    FOR EACH STATEMENT
    EXECUTE FUNCTION webhook_events_notify();

-- Payload times: RFC 3339 in UTC whatever the session's TimeZone, as webhooks/events.py
-- writes them.
CREATE FUNCTION webhook_time(t timestamptz) RETURNS text LANGUAGE sql STABLE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

CREATE FUNCTION videos_webhook_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_events (type, data)
    SELECT 'video.' || NEW.status::text,
           jsonb_build_object('video', jsonb_build_object(
               'id', NEW.public_id,
               'title', NEW.title,
               'privacy', NEW.privacy::text,
               'status', NEW.status::text,
               'duration_seconds', NEW.duration_seconds,
               'failure_reason', NEW.failure_reason,
               'created_at', webhook_time(NEW.created_at),
               'published_at', webhook_time(NEW.published_at),
               'channel', jsonb_build_object('handle', c.handle::text, 'title', c.title)))
    FROM channels c
    WHERE c.id = NEW.channel_id;
    RETURN NULL;
END $$;
-- AFTER: published_at is set by a BEFORE trigger (0003) and must be in the payload.
CREATE TRIGGER videos_webhook_event_insert
    AFTER INSERT ON videos
    FOR EACH ROW
    WHEN (NEW.status IN ('ready', 'failed'))
    EXECUTE FUNCTION videos_webhook_event();
CREATE TRIGGER videos_webhook_event_update
    AFTER UPDATE OF status ON videos
    FOR EACH ROW
    WHEN (NEW.status IN ('ready', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION videos_webhook_event();
