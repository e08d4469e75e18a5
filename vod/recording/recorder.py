"""Live recordings: every init segment and complete segment goes to storage as it happens; when
the stream ends, the recording becomes an HLS VOD in storage and a ready video in the catalog.

Storage layout of one recording (``{start}`` is the UTC start, to the millisecond)::

    recordings/{stream}/{start}/{rendition}/init{N}.mp4     written live, names as in the
    recordings/{stream}/{start}/{rendition}/seg{MSN}.m4s    live playlists
    recordings/{stream}/{start}/{rendition}/index.m3u8      written at the end: VOD playlists
    recordings/{stream}/{start}/master.m3u8
    recordings/{stream}/{start}/poster.jpg

Media is written as the stream goes, so a crash loses only what was still queued (normally the
segment being written); the playlists, the poster and the catalog entry come at the end, after
which media the VOD does not use (renditions left out, segments outside the common range) is
deleted and the video's playback manifest (:mod:`vod.playback_manifest`) is written for edges.
Nothing here may break the live side: the packager's calls only queue, and every failure at the
end is logged (once, with the stream's name) instead of raised.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog

from catalog.live_streams import LiveStream
from catalog.recordings import NewRecording, Poster, RecordedRendition, Recordings
from packager.live.llhls_playlist import render_multivariant_playlist
from packager.live.names import MEDIA_PLAYLIST_NAME, init_name, segment_name
from packager.live.window import SegmentInfo, VariantInfo
from vod.playback_manifest import PlaybackManifests
from vod.recording.playlists import RecordedSegment, align, duration, measured, render_vod_playlist
from vod.recording.thumbnail import poster_jpeg
from vod.recording.writer import RecordingWriter
from vod.storage import Storage, StorageError

log = structlog.get_logger(__name__)

MULTIVARIANT_PLAYLIST_NAME = "master.m3u8"
POSTER_NAME = "poster.jpg"
POSTER_POSITION = 0.1
"""The poster is the first frame of the segment this far into the recording (the very start is
often a title card or black)."""


def recording_prefix(stream: str, started_at: datetime) -> str:
    return f"recordings/{stream}/{started_at:%Y%m%dT%H%M%S}.{started_at.microsecond // 1000:03d}Z"


class Recorder:
    """Starts a :class:`StreamRecording` per live stream (the node's ``new_recorder``)."""

    def __init__(self, storage: Storage, recordings: Recordings, *, queue_bytes: int) -> None:
        self._storage = storage
        self._recordings = recordings
        self._queue_bytes = queue_bytes

    def start(self, stream: LiveStream) -> StreamRecording:
        return StreamRecording(stream, self._storage, self._recordings, self._queue_bytes)


class RenditionRecording:
    """One rendition's :class:`~packager.live.stream_recorder.RenditionRecorder`: queues its
    media and remembers what storage confirmed."""

    def __init__(self, prefix: str, writer: RecordingWriter) -> None:
        self.prefix = prefix
        self._writer = writer
        self._inits: set[int] = set()
        self._segments: dict[int, RecordedSegment] = {}

    def init_added(self, init_id: int, data: bytes) -> None:
        self._writer.submit(
            f"{self.prefix}/{init_name(init_id)}", data, functools.partial(self._inits.add, init_id)
        )

    def segment_completed(self, segment: SegmentInfo, data: bytes) -> None:
        recorded = RecordedSegment(
            msn=segment.msn,
            duration=segment.duration,
            init_id=segment.init_id,
            discontinuity=segment.discontinuity,
            size=len(data),
        )
        self._writer.submit(
            f"{self.prefix}/{segment_name(segment.msn)}",
            data,
            functools.partial(self._segments.__setitem__, segment.msn, recorded),
        )

    def playable(self) -> dict[int, RecordedSegment]:
        """Stored segments whose init segment is stored too."""
        return {msn: s for msn, s in self._segments.items() if s.init_id in self._inits}


class StreamRecording:
    """One live stream's :class:`~packager.live.stream_recorder.StreamRecorder`."""

    def __init__(
        self, stream: LiveStream, storage: Storage, recordings: Recordings, queue_bytes: int
    ) -> None:
        self._stream = stream
        self._storage = storage
        self._recordings = recordings
        self._manifests = PlaybackManifests(storage, recordings)
        self.started_at = datetime.now(UTC)
        self.prefix = recording_prefix(stream.name, self.started_at)
        self._writer = RecordingWriter(storage, stream.name, queue_bytes)
        self._renditions: dict[str, RenditionRecording] = {}
        self._dropped: set[str] = set()
        self._finished = False

    def rendition(self, name: str) -> RenditionRecording:
        """A rendition's recording; a window made again under the same name (a rung back after
        a reconnect) continues it: its numbering never repeats the earlier window's."""
        if name not in self._renditions:
            self._renditions[name] = RenditionRecording(f"{self.prefix}/{name}", self._writer)
        return self._renditions[name]

    def rendition_dropped(self, name: str) -> None:
        self._dropped.add(name)

    async def finish(self, variants: Sequence[VariantInfo]) -> None:
        if self._finished:
            return
        self._finished = True
        try:
            await self._writer.close()
            await self._publish(variants)
        except Exception:
            log.exception("recording.failed", stream=self._stream.name, prefix=self.prefix)

    async def _publish(self, variants: Sequence[VariantInfo]) -> None:
        kept = [v for v in variants if self._keeps(v)]
        aligned = align({v.name: self._renditions[v.name].playable() for v in kept})
        if not kept or not aligned[kept[0].name]:
            log.info("recording.empty", stream=self._stream.name)
            await self._prune(keep=set())
            return
        remeasured = [measured(v, aligned[v.name]) for v in kept]
        master = await self._write_playlists(remeasured, aligned)
        largest = max(kept, key=lambda v: (v.width or 0) * (v.height or 0))
        seconds = duration(aligned[largest.name])
        poster = await self._poster(largest.name, aligned[largest.name])
        video = await self._recordings.publish(
            self._new_recording(remeasured, seconds=seconds, master=master, poster=poster)
        )
        await self._prune(keep=_referenced(self.prefix, aligned, master, poster))
        await self._write_manifest(video.public_id)
        log.info(
            "recording.published",
            stream=self._stream.name,
            video=video.public_id,
            seconds=round(seconds, 3),
            renditions=[v.name for v in kept],
            dropped_writes=self._writer.dropped,
            failed_writes=self._writer.failed,
        )

    async def _write_playlists(
        self, variants: Sequence[VariantInfo], aligned: dict[str, list[RecordedSegment]]
    ) -> str:
        """The media playlists, then the multivariant playlist (its key is returned)."""
        for name, segments in aligned.items():
            playlist = render_vod_playlist(segments).encode()
            await self._storage.put(f"{self.prefix}/{name}/{MEDIA_PLAYLIST_NAME}", playlist)
        master = f"{self.prefix}/{MULTIVARIANT_PLAYLIST_NAME}"
        await self._storage.put(master, render_multivariant_playlist(variants).encode())
        return master

    async def _write_manifest(self, public_id: str) -> None:
        """The video's playback manifest, for edges; logged, not raised, if storage refuses:
        the video plays from origins all the same."""
        try:
            await self._manifests.refresh(public_id)
        except StorageError as exc:
            log.warning(
                "recording.playback_manifest_failed",
                stream=self._stream.name,
                video=public_id,
                error=repr(exc),
            )

    def _new_recording(
        self, variants: Sequence[VariantInfo], *, seconds: float, master: str, poster: Poster | None
    ) -> NewRecording:
        renditions = [
            RecordedRendition(
                name=v.name,
                width=v.width or 0,
                height=v.height or 0,
                bitrate=v.bandwidth,
                codecs=v.codecs,
                playlist_path=f"{self.prefix}/{v.name}/{MEDIA_PLAYLIST_NAME}",
            )
            for v in variants
        ]
        return NewRecording(
            stream=self._stream,
            started_at=self.started_at,
            duration_seconds=seconds,
            playlist_path=master,
            renditions=renditions,
            poster=poster,
            metadata={
                "started_at": self.started_at.isoformat(),
                "ended_at": datetime.now(UTC).isoformat(),
                "dropped_writes": self._writer.dropped,
                "failed_writes": self._writer.failed,
            },
        )

    def _keeps(self, variant: VariantInfo) -> bool:
        """A rendition goes into the VOD if it was recorded, not shed, and has a known size."""
        if variant.name not in self._renditions or variant.name in self._dropped:
            return False
        if not (variant.width and variant.height):
            log.warning("recording.rendition_without_size", stream=self._stream.name, rendition=variant.name)
            return False
        return True

    async def _poster(self, rendition: str, segments: Sequence[RecordedSegment]) -> Poster | None:
        """The poster (:data:`POSTER_POSITION`); None, logged, if it cannot be made: a missing
        poster must not cost the video."""
        segment = segments[int(len(segments) * POSTER_POSITION)]
        base = f"{self.prefix}/{rendition}"
        key = f"{self.prefix}/{POSTER_NAME}"
        try:
            init = await self._storage.get(f"{base}/{init_name(segment.init_id)}")
            media = await self._storage.get(f"{base}/{segment_name(segment.msn)}")
            jpeg = await asyncio.to_thread(poster_jpeg, init, media)
            await self._storage.put(key, jpeg.data)
        except Exception as exc:  # undecodable media, storage: either way, no poster
            log.warning("recording.poster_failed", stream=self._stream.name, error=repr(exc))
            return None
        return Poster(key, jpeg.width, jpeg.height)

    async def _prune(self, keep: set[str]) -> None:
        """Delete what the VOD does not use: renditions left out, segments outside the common
        range (or everything, for a recording that became no video)."""
        for stored in await self._storage.list(self.prefix + "/"):
            if stored.key not in keep:
                await self._storage.delete(stored.key)


def _referenced(
    prefix: str, aligned: dict[str, list[RecordedSegment]], master: str, poster: Poster | None
) -> set[str]:
    """Every storage key the published VOD refers to."""
    keys = {master, *([poster.path] if poster else [])}
    for name, segments in aligned.items():
        base = f"{prefix}/{name}"
        keys.add(f"{base}/{MEDIA_PLAYLIST_NAME}")
        keys.update(f"{base}/{init_name(s.init_id)}" for s in segments)
        keys.update(f"{base}/{segment_name(s.msn)}" for s in segments)
    return keys
