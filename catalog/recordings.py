"""Recorded live streams as videos, and where any stored video's playlists are (for the origin).

A recording becomes a video the way an upload will: created ``processing``, then its
renditions, poster and storage location are recorded and it turns ``ready`` (public, as the
live stream was). A failure in between leaves it ``failed`` with the reason, visible to its
owner, rather than a half-made ready video.

Streams made by ``tributary stream create`` have no channel, but videos need one: their
recordings go to the *operator channel*, made on first use and owned by a disabled account
that cannot log in (its password hash is not a hash), so admins manage those videos. It is
found through the one-row ``operator_channel`` table, never by a handle someone could have
registered first; its handle is ``operator`` unless that is taken.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import structlog

from catalog.channels import HandleTaken, insert_channel
from catalog.live_streams import LiveStream
from catalog.videos import Privacy, Status, Video, Videos

log = structlog.get_logger(__name__)

_OPERATOR_LOCK = 0x6F70_6572  # "oper": one operator channel even if two recordings end together
_TITLE_LIMIT = 200


@dataclass(frozen=True, slots=True)
class RecordedRendition:
    name: str
    width: int
    height: int
    bitrate: int  # peak, bits per second
    codecs: str
    playlist_path: str


@dataclass(frozen=True, slots=True)
class Poster:
    path: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class NewRecording:
    stream: LiveStream
    started_at: datetime
    duration_seconds: float
    playlist_path: str
    renditions: Sequence[RecordedRendition]
    poster: Poster | None
    metadata: Mapping[str, object] = field(default_factory=dict)
    """Kept as the video's ``source_metadata`` (what the recording saw: gaps, dropped writes)."""


@dataclass(frozen=True, slots=True)
class StoredVideo:
    """What the origin needs to serve a ready video from storage: who may see it, and where."""

    privacy: Privacy
    playlist_path: str
    renditions: Mapping[str, str]  # name → media playlist path
    thumbnails: Mapping[int, str]  # thumbnail id → image path
    storyboard: str | None = None
    """The seek-preview WebVTT track's path; None for recordings (and manifests written before
    transcoded uploads had one)."""


def recording_title(stream: LiveStream, started_at: datetime) -> str:
    """The stream's title, or its name and start (UTC) when it has none."""
    title = stream.title.strip() or f"{stream.name} — {started_at:%Y-%m-%d %H:%M} UTC"
    return title[:_TITLE_LIMIT]


class Recordings:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._videos = Videos(pool)

    async def publish(self, recording: NewRecording) -> Video:
        """Create the recording's video, ready and public; see the module docstring."""
        channel_id = recording.stream.channel_id or await self.operator_channel()
        video = await self._videos.create(
            channel_id,
            recording_title(recording.stream, recording.started_at),
            privacy=Privacy.PUBLIC,
            status=Status.PROCESSING,
        )
        try:
            await self._attach(video.id, recording)
            ready = await self._videos.set_status(
                video.id, Status.READY, duration_seconds=recording.duration_seconds
            )
        except Exception as exc:
            reason = f"the recording could not be catalogued ({type(exc).__name__})"
            await self._videos.set_status(video.id, Status.FAILED, failure_reason=reason)
            raise
        if ready is None:
            raise LookupError(f"video {video.public_id} was deleted while being catalogued")
        return ready

    async def operator_channel(self) -> int:
        """The operator channel's id, created on first use (module docstring)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _OPERATOR_LOCK)
            channel_id = await conn.fetchval("SELECT channel_id FROM operator_channel")
            if channel_id is not None:
                return channel_id
            tag = secrets.token_hex(4)
            owner_id = await conn.fetchval(
                """INSERT INTO users (email, username, display_name, password_hash, role,
                                      disabled_at)
                   VALUES ($1, $2, 'Operator', '!', 'creator', now()) RETURNING id""",
                f"operator-{tag}@tributary.invalid",
                f"operator_{tag}",
            )
            for handle in ("operator", f"operator-{tag}"):
                try:
                    async with conn.transaction():  # a savepoint: a taken handle keeps the rest
                        channel = await insert_channel(conn, owner_id, handle, "Live recordings")
                    break
                except HandleTaken:
                    continue
            else:
                raise HandleTaken("every operator channel handle is taken")
            await conn.execute("INSERT INTO operator_channel (channel_id) VALUES ($1)", channel.id)
            log.info("catalog.operator_channel_created", handle=channel.handle)
            return channel.id

    async def stored_video(self, public_id: str) -> StoredVideo | None:
        """A ready video whose files are in storage, or None (unknown, not ready, no files)."""
        row = await self._pool.fetchrow(
            """SELECT v.privacy, v.playlist_path, v.storyboard_path,
                      (SELECT coalesce(jsonb_object_agg(r.name, r.playlist_path), '{}')
                       FROM renditions r WHERE r.video_id = v.id) AS renditions,
                      (SELECT coalesce(jsonb_object_agg(t.id, t.path), '{}')
                       FROM thumbnails t WHERE t.video_id = v.id) AS thumbnails
               FROM videos v
               WHERE v.public_id = $1 AND v.status = 'ready' AND v.playlist_path IS NOT NULL""",
            public_id,
        )
        if row is None:
            return None
        return StoredVideo(
            privacy=Privacy(row["privacy"]),
            playlist_path=row["playlist_path"],
            renditions=json.loads(row["renditions"]),
            thumbnails={int(key): path for key, path in json.loads(row["thumbnails"]).items()},
            storyboard=row["storyboard_path"],
        )

    async def _attach(self, video_id: int, recording: NewRecording) -> None:
        """Renditions, the poster (chosen) and where the playlists are, in one transaction."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                """INSERT INTO renditions (video_id, name, width, height, bitrate, codecs,
                                           playlist_path)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                [
                    (video_id, r.name, r.width, r.height, r.bitrate, r.codecs, r.playlist_path)
                    for r in recording.renditions
                ],
            )
            if recording.poster is not None:
                poster = recording.poster
                await conn.execute(
                    """INSERT INTO thumbnails (video_id, kind, path, width, height, chosen)
                       VALUES ($1, 'poster', $2, $3, $4, true)""",
                    video_id,
                    poster.path,
                    poster.width,
                    poster.height,
                )
            await conn.execute(
                """UPDATE videos SET playlist_path = $2, source_metadata = $3::jsonb,
                                     updated_at = now()
                   WHERE id = $1""",
                video_id,
                recording.playlist_path,
                json.dumps({"live_stream": recording.stream.name, **recording.metadata}),
            )
