"""Chat rooms: one per live stream (``live:NAME``) and one per video (``video:PUBLIC_ID``).

A room name arrives from the network, so it is parsed strictly before anything touches Redis
or the catalog. Resolving a room asks the catalog who owns it (the channel owner moderates)
and, for a video, whether the caller may watch it at all: a private video's room is as
invisible as the video (the same "not found" answer as the REST API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
from cachetools import TTLCache

from catalog.access import Principal
from catalog.channels import Channels
from catalog.live_streams import STREAM_NAME_PATTERN, LiveStreamCatalog
from catalog.videos import PUBLIC_ID_PATTERN, Videos, may_watch

_STREAM_NAME = re.compile(STREAM_NAME_PATTERN)
_VIDEO_ID = re.compile(PUBLIC_ID_PATTERN)
_RESOLVED_SECONDS = 10.0
"""How long a node trusts what it learnt of a room's owner: a transfer is rare, and a stale
answer costs a few seconds of an owner's powers, never a viewer's safety (bans are in Redis)."""


class RoomKind(StrEnum):
    LIVE = "live"
    VIDEO = "video"


class RoomNotFound(LookupError):
    """No such stream or video, or one the caller may not watch."""


@dataclass(frozen=True, slots=True)
class RoomName:
    kind: RoomKind
    key: str  # the stream name or the video's public id

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.key}"

    @classmethod
    def parse(cls, text: object) -> RoomName:
        """``live:NAME`` or ``video:ID``; ValueError with a reason otherwise."""
        if not isinstance(text, str) or len(text) > 80:
            raise ValueError("a room is a string like 'live:NAME' or 'video:ID'")
        kind, _, key = text.partition(":")
        if kind == RoomKind.LIVE and _STREAM_NAME.fullmatch(key):
            return cls(RoomKind.LIVE, key)
        if kind == RoomKind.VIDEO and _VIDEO_ID.fullmatch(key):
            return cls(RoomKind.VIDEO, key)
        raise ValueError(f"no such room {text!r}: rooms are 'live:NAME' or 'video:ID'")


@dataclass(frozen=True, slots=True)
class Room:
    name: RoomName
    channel_id: int | None  # None: a stream made on the command line, owned by nobody
    owner_id: int | None
    video_id: int | None  # the catalog's id, for a video's room
    video_owner_only: bool  # a video only its owner (and admins) may watch

    @property
    def scope(self) -> str:
        """What bans, timeouts, moderators and banned words belong to: the channel, so a ban
        holds in its live chat and under all its videos; a stream owned by nobody is its own."""
        return f"channel:{self.channel_id}" if self.channel_id is not None else f"room:{self.name}"

    @property
    def is_video(self) -> bool:
        return self.name.kind is RoomKind.VIDEO


class RoomDirectory:
    """Rooms as the catalog knows them, with a short per-node memory."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._streams = LiveStreamCatalog(pool)
        self._channels = Channels(pool)
        self._videos = Videos(pool)
        self._live: TTLCache[str, Room] = TTLCache(maxsize=10_000, ttl=_RESOLVED_SECONDS)

    async def resolve(self, name: RoomName, principal: Principal | None) -> Room:
        if name.kind is RoomKind.VIDEO:
            return await self._video_room(name, principal)
        room = self._live.get(name.key)
        if room is None:
            room = self._live[name.key] = await self._live_room(name)
        return room

    async def _live_room(self, name: RoomName) -> Room:
        stream = await self._streams.by_name(name.key)
        if stream is None:
            raise RoomNotFound(f"no live stream {name.key!r}")
        owner_id = None
        if stream.channel_id is not None:
            channel = await self._channels.by_id(stream.channel_id)
            owner_id = channel.owner_id if channel else None
        return Room(name, stream.channel_id, owner_id, None, video_owner_only=False)

    async def _video_room(self, name: RoomName, principal: Principal | None) -> Room:
        """Never cached: whether this caller may watch is the video's current privacy."""
        video = await self._videos.get(name.key)
        if video is None or not may_watch(video, principal):
            raise RoomNotFound(f"no video {name.key!r}")
        return Room(
            name, video.channel_id, video.owner_id, video.id,
            video_owner_only=not may_watch(video, None),
        )
