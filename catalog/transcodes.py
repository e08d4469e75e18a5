"""A transcoded upload turning ready: its renditions, pictures and storyboard, attached in one
transaction with the status change, so the catalog never lists a ready video that lacks any.

Picture ids are drawn before anything is stored (:meth:`Transcodes.reserve_picture_ids`): the
storyboard's WebVTT track names its sprite sheets by the URL the origin serves them at,
``thumb{id}.jpg``, and it is stored before the transaction that inserts them. Ids of a
transcode that then fails are simply never used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import asyncpg

from catalog.videos import LOCK_VIDEO, Status, Video, set_status


@dataclass(frozen=True, slots=True)
class TranscodedRendition:
    name: str
    kind: Literal["video", "audio"]
    width: int | None
    """None for the audio rendition; both set for video ones."""
    height: int | None
    bitrate: int
    """Peak segment bit rate of this rendition's own media, bits per second."""
    codecs: str
    playlist_path: str


@dataclass(frozen=True, slots=True)
class Picture:
    id: int
    """From :meth:`Transcodes.reserve_picture_ids`."""
    kind: Literal["poster", "thumbnail", "storyboard"]
    path: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class TranscodedVideo:
    video_id: int
    duration_seconds: float
    playlist_path: str
    storyboard_path: str | None
    renditions: Sequence[TranscodedRendition]
    pictures: Sequence[Picture]
    """The poster is chosen; thumbnails wait for their owner's choice."""
    source_metadata: Mapping[str, object]
    """What probing the upload found."""


class Transcodes:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def reserve_picture_ids(self, count: int) -> list[int]:
        return [
            row["id"]
            for row in await self._pool.fetch(
                "SELECT nextval(pg_get_serial_sequence('thumbnails', 'id')) AS id"
                " FROM generate_series(1, $1)",
                count,
            )
        ]

    async def publish(self, transcoded: TranscodedVideo) -> Video | None:
        """Attach everything and make the video ready (100 %); None if it was deleted meanwhile.

        Whatever an earlier attempt attached is replaced, so a retried job cannot double up.
        """
        video_id = transcoded.video_id
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(LOCK_VIDEO, video_id) is None:
                return None
            await conn.execute("DELETE FROM renditions WHERE video_id = $1", video_id)
            await conn.execute("DELETE FROM thumbnails WHERE video_id = $1", video_id)
            await conn.executemany(
                """INSERT INTO renditions (video_id, name, kind, width, height, bitrate, codecs,
                                           playlist_path)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                [
                    (video_id, r.name, r.kind, r.width, r.height, r.bitrate, r.codecs, r.playlist_path)
                    for r in transcoded.renditions
                ],
            )
            await conn.executemany(
                """INSERT INTO thumbnails (id, video_id, kind, path, width, height, chosen)
                   OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                [
                    (p.id, video_id, p.kind, p.path, p.width, p.height, p.kind == "poster")
                    for p in transcoded.pictures
                ],
            )
            await conn.execute(
                """UPDATE videos SET playlist_path = $2, storyboard_path = $3,
                                     source_metadata = $4::jsonb
                   WHERE id = $1""",
                video_id,
                transcoded.playlist_path,
                transcoded.storyboard_path,
                json.dumps(transcoded.source_metadata),
            )
            return await set_status(
                conn, video_id, Status.READY, duration_seconds=transcoded.duration_seconds
            )
