"""The events a receiver is sent and the JSON document each one is (standard library only).

Every request body is one event::

    {"id": "<uuid>", "type": "video.ready", "created_at": "2025-05-01T12:00:00.000000Z",
     "data": {"video": {...}}}

``data`` is what the catalog recorded (the trigger on ``videos``, or the origin for streams:
``catalog/migrations/0009_webhook_events.sql``, ``webhooks/stream_events.py``) plus the public
URLs of what it names, added here because only a node knows where the site is served.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID


class EventType(StrEnum):
    STREAM_STARTED = "stream.started"
    """A publish started a new stream (a publisher back within the grace period does not)."""
    STREAM_ENDED = "stream.ended"
    """The stream is over: its publisher did not return within the grace period, or its node
    shut down."""
    VIDEO_READY = "video.ready"
    """A video became playable: a transcoded upload, a live recording, ``tributary vod add``."""
    VIDEO_FAILED = "video.failed"
    """A video could not be made playable; ``failure_reason`` says why, for its owner."""


def rfc3339(moment: datetime) -> str:
    """UTC with microseconds and ``Z``: the form the database's ``webhook_time`` writes, so every
    time in a payload reads alike."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def render_body(
    event_id: UUID, event_type: str, created_at: datetime, data: dict[str, Any], site_url: str
) -> str:
    """The JSON document sent for an event, with links under ``site_url`` (no trailing slash).

    Compact and with sorted keys: it is rendered once and stored, and receivers verify the
    signature over these exact bytes.
    """
    _add_links(EventType(event_type), data, site_url)
    envelope = {
        "id": str(event_id),
        "type": event_type,
        "created_at": rfc3339(created_at),
        "data": data,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _add_links(event_type: EventType, data: dict[str, Any], site: str) -> None:
    """Where a person (or the API) finds what the event names. Video playback URLs are left to
    the API (``api_url``): in a cluster they name an edge and private videos need a token."""
    subject = data["stream"] if event_type.value.startswith("stream.") else data["video"]
    channel = subject.get("channel")
    if channel is not None:
        channel["url"] = f"{site}/c/{channel['handle']}"
    if event_type in (EventType.STREAM_STARTED, EventType.STREAM_ENDED):
        subject["watch_url"] = f"{site}/watch/{subject['name']}"
        return
    video_id = subject["id"]
    subject["api_url"] = f"{site}/api/v1/videos/{video_id}"
    if event_type is EventType.VIDEO_READY:
        subject["watch_url"] = f"{site}/v/{video_id}"
    else:
        subject["studio_url"] = f"{site}/studio/videos/{video_id}"
