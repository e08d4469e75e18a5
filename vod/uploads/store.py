"""The upload store: uploads made, bytes received, finished uploads handed on, abandoned ones swept.

Receiving a body is a task of the store's, not of the request: the request handler only waits
for it. When the client hangs up (aiohttp then cancels the handler) the task still ends the
body properly: what arrived is fsynced and its offset committed, unless the body carried a
checksum, which a partial body cannot satisfy, and then none of it is kept. One body at a time
per upload on a node (a second gets 423); the offset's compare-and-set in PostgreSQL guards
across nodes.

A finished upload is handed on by another task: its bytes go to storage at
:func:`source_key`, the video moves to ``processing``, ``on_uploaded`` is
called, and only then is the upload marked stored and the staged file deleted. Each step may be
repeated, so a crash anywhere in between is repaired by the sweeper repeating the whole
hand-over: ``on_uploaded`` is called at least once per upload (its consumer dedupes by video).

The sweeper (every ``sweep_interval``) deletes unfinished uploads past their expiry with their
videos and staged files, restarts hand-overs that did not finish, and removes staged files whose
upload is gone (a video deleted mid-upload, an upload expired by another node).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path

import asyncpg
import structlog
from aiohttp import StreamReader
from aiohttp.web_protocol import RequestPayloadError

from catalog.api.errors import ApiError, not_found
from catalog.uploads import Upload, Uploads
from catalog.videos import Videos
from tributary.settings import UploadSettings
from vod.storage import Storage
from vod.uploads import protocol
from vod.uploads.metadata import VideoFields
from vod.uploads.protocol import Checksum
from vod.uploads.staging import StagedBytesLost, StagedWrite, Staging, in_thread

log = structlog.get_logger(__name__)

_FLUSH_BYTES = 1024 * 1024
"""Received bytes gathered before a write: one thread hop per MiB, not per network read."""
_SWEEP_BATCH = 500


@dataclass(frozen=True, slots=True)
class UploadedVideo:
    """A finished upload, kept in storage, its video now ``processing``: what a transcoder needs."""

    video_id: int
    public_id: str
    raw_key: str
    size: int


OnUploaded = Callable[[UploadedVideo], Awaitable[None]]


def source_key(public_id: str) -> str:
    """Where an uploaded video's file is kept (also after processing, for inspection). Named
    ``video-{id}`` as in ``playback/``: a public id may start with ``-`` or ``_``, which cannot
    start a key segment."""
    return f"uploads/video-{public_id}/source"


class _Ending(Enum):
    """How a request body ended."""

    COMPLETE = "complete"
    TOO_LARGE = "too_large"  # it ran past the upload's length
    TIMED_OUT = "timed_out"  # the client went silent for chunk_timeout
    BROKEN = "broken"  # the connection dropped, or the chunked framing was broken
    CANCELLED = "cancelled"  # the store is closing


class UploadStore:
    def __init__(
        self,
        settings: UploadSettings,
        data_dir: Path,
        *,
        pool: asyncpg.Pool,
        storage: Storage,
        on_uploaded: OnUploaded | None = None,
    ) -> None:
        self.settings = settings
        self.staging = Staging(settings.staging_dir or data_dir / "uploads")
        self.on_uploaded = on_uploaded
        """Called once a video's upload is in storage; the node points it at the transcode queue."""
        self._rows = Uploads(pool)
        self._videos = Videos(pool)
        self._storage = storage
        self._lifetime = timedelta(seconds=settings.expiration)
        self._busy: set[str] = set()
        self._transfers: set[asyncio.Task[Upload]] = set()
        self._hand_overs: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        """Start sweeping (at once: it also resumes hand-overs a stop or crash interrupted)."""
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever(), name="upload-sweeper")

    async def close(self) -> None:
        """Stop every task: bodies being received keep what arrived; hand-overs resume at the next
        start, from the beginning."""
        self._closing = True  # a body completed while closing leaves its hand-over to the next start
        tasks = [*self._transfers, *self._hand_overs.values()]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
            self._sweeper = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def create(
        self, owner_id: int, channel_id: int, length: int, metadata: Mapping[str, str], fields: VideoFields
    ) -> Upload:
        """The video (``uploading``, on the caller's channel) and its upload."""
        video = await self._videos.create(
            channel_id, fields.title, description=fields.description, privacy=fields.privacy
        )
        try:
            upload = await self._rows.create(video.id, owner_id, length, metadata, self._lifetime)
        except BaseException:
            await self._videos.delete(video.id)  # no video without its upload
            raise
        log.debug("upload.created", upload=upload.id, video=video.public_id, length=length)
        return upload

    async def get(self, upload_id: str) -> Upload | None:
        return await self._rows.get(upload_id)

    async def receive(
        self,
        upload_id: str,
        offset: int,
        body: StreamReader,
        *,
        declared: int | None,
        checksum: Checksum | None,
    ) -> Upload:
        """Append a request body at ``offset``; the upload as it then stands.

        ``declared`` is the body's Content-Length (None when chunked). Raises the ApiError the
        client should get: 409 wrong offset, 413 past the upload's length, 423 another body is
        being received, 460 checksum mismatch, 408 silence, 400 broken body (after keeping
        what arrived), 404/410 when the upload is gone or expired.
        """
        if upload_id in self._busy:
            raise protocol.locked()
        self._busy.add(upload_id)
        task = asyncio.get_running_loop().create_task(
            self._transfer(upload_id, offset, body, declared, checksum), name=f"upload-transfer-{upload_id}"
        )
        self._transfers.add(task)
        task.add_done_callback(self._transfers.discard)
        task.add_done_callback(lambda _: self._busy.discard(upload_id))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_report_unheard)
            raise

    async def terminate(self, upload: Upload) -> None:
        """Delete an unfinished upload with its video and staged bytes."""
        if upload.id in self._busy:
            raise protocol.locked()
        if upload.complete:
            raise ApiError(409, "upload_complete", "the upload is complete; delete its video instead")
        if not await self._rows.terminate(upload.id):
            raise not_found("upload")
        await asyncio.to_thread(self.staging.delete, upload.id)
        log.debug("upload.terminated", upload=upload.id)

    async def sweep(self) -> None:
        """One round of the sweeper (module docstring)."""
        for upload_id in await self._rows.expired(_SWEEP_BATCH):
            if upload_id not in self._busy and await self._rows.delete_expired(upload_id):
                await asyncio.to_thread(self.staging.delete, upload_id)
                log.info("upload.expired", upload=upload_id)
        for upload in await self._rows.unstored(_SWEEP_BATCH):
            if await asyncio.to_thread(self.staging.has, upload.id):  # else another node received it
                self._hand_over_later(upload)
        staged = await asyncio.to_thread(self.staging.ids)
        if staged:
            orphans = set(staged) - await self._rows.existing(staged) - self._busy
            for upload_id in orphans:
                await asyncio.to_thread(self.staging.delete, upload_id)
                log.info("upload.orphan_removed", upload=upload_id)

    # Receiving a body ----------------------------------------------------------------------

    async def _transfer(
        self, upload_id: str, offset: int, body: StreamReader, declared: int | None, checksum: Checksum | None
    ) -> Upload:
        upload = await self._rows.get(upload_id)  # again, now that this body holds the upload
        if upload is None:
            raise not_found("upload")
        if upload.expired:
            raise protocol.expired()
        if upload.offset != offset:
            raise protocol.offset_conflict(upload.offset)
        room = upload.length - offset
        if declared is not None and declared > room:
            raise protocol.past_length(room)
        try:
            write = await in_thread(self.staging.open, upload_id, offset, checksum)
        except StagedBytesLost:
            log.warning("upload.staged_bytes_lost", upload=upload_id, offset=offset)
            detail = "this node no longer has the upload's bytes; start a new upload"
            raise ApiError(410, "upload_lost", detail) from None
        try:
            ending = await self._pump(body, write, room)
            return await self._settle(upload, write, ending, checksum)
        finally:
            await in_thread(write.close)

    async def _pump(self, body: StreamReader, write: StagedWrite, room: int) -> _Ending:
        """Copy the body into the staged file until it ends, one way or another."""
        pending = bytearray()
        try:
            while True:
                async with asyncio.timeout(self.settings.chunk_timeout):
                    chunk = await body.readany()
                if not chunk:
                    ending = _Ending.COMPLETE
                    break
                if write.size + len(pending) + len(chunk) > room:
                    return _Ending.TOO_LARGE  # all of it is dropped: nothing to flush
                pending += chunk
                if len(pending) >= _FLUSH_BYTES:
                    data = bytes(pending)
                    pending.clear()  # before the write: a cancellation must not write it twice
                    await in_thread(write.write, data)
        except TimeoutError:
            ending = _Ending.TIMED_OUT
        except (ConnectionError, RequestPayloadError):
            ending = _Ending.BROKEN
        except asyncio.CancelledError:
            ending = _Ending.CANCELLED  # raised again by _settle, once what arrived is kept
        if pending:
            await in_thread(write.write, bytes(pending))
        return ending

    async def _settle(
        self, upload: Upload, write: StagedWrite, ending: _Ending, checksum: Checksum | None
    ) -> Upload:
        """Keep what the body wrote, or drop it, then answer for how the body ended."""
        verified = checksum is None or (ending is _Ending.COMPLETE and checksum.matches(write.digest()))
        if ending is _Ending.TOO_LARGE or not verified:
            await in_thread(write.discard)
        committed = await self._commit(upload, write)
        if ending is not _Ending.COMPLETE:
            log.debug("upload.body_cut_short", upload=upload.id, ending=ending.value, kept=write.size)
        if ending is _Ending.CANCELLED:
            raise asyncio.CancelledError
        if ending is _Ending.TOO_LARGE:
            raise protocol.past_length(upload.length - upload.offset)
        if checksum is not None and not verified and ending is _Ending.COMPLETE:
            raise protocol.checksum_mismatch(checksum.algorithm)
        if ending is _Ending.TIMED_OUT:
            raise ApiError(408, "body_timeout", f"the body went silent for {self.settings.chunk_timeout:g} s")
        if ending is _Ending.BROKEN:
            raise ApiError(400, "body_incomplete", "the body ended early or was malformed; HEAD the upload")
        return committed

    async def _commit(self, upload: Upload, write: StagedWrite) -> Upload:
        """Make the written bytes durable, then move the offset past them."""
        if write.size == 0:
            return upload
        await in_thread(write.sync)
        advanced = await self._rows.advance(upload.id, write.start, write.start + write.size, self._lifetime)
        if advanced is None:  # terminated, or expired and swept, while the body arrived
            await asyncio.to_thread(self.staging.delete, upload.id)
            raise not_found("upload")
        if advanced.complete:
            log.debug("upload.received", upload=upload.id, video=upload.video_public_id, size=upload.length)
            self._hand_over_later(advanced)
        return advanced

    # Handing a finished upload on -----------------------------------------------------------

    def _hand_over_later(self, upload: Upload) -> None:
        if upload.id in self._hand_overs or self._closing:
            return
        task = asyncio.get_running_loop().create_task(
            self._hand_over(upload), name=f"upload-hand-over-{upload.id}"
        )
        self._hand_overs[upload.id] = task
        task.add_done_callback(lambda _: self._hand_overs.pop(upload.id, None))

    async def _hand_over(self, upload: Upload) -> None:
        key = source_key(upload.video_public_id)
        try:
            current = await self._rows.get(upload.id)
            if current is None or current.stored_at is not None:
                return  # deleted, or handed on by the task before this one since the sweeper looked
            await self._storage.put_file(key, self.staging.path(upload.id))
            if not await self._rows.start_processing(upload.video_id):
                await self._storage.delete(key)  # the video was deleted meanwhile: nothing will read it
            elif self.on_uploaded is not None:
                video = UploadedVideo(upload.video_id, upload.video_public_id, key, upload.length)
                await self.on_uploaded(video)
            await self._rows.mark_stored(upload.id)
            await asyncio.to_thread(self.staging.delete, upload.id)
        except Exception:  # storage or database trouble: the next sweep tries again
            log.exception("upload.hand_over_failed", upload=upload.id, video=upload.video_public_id)
            return
        log.info("upload.handed_over", upload=upload.id, video=upload.video_public_id, key=key)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # the database restarting, say: the next round retries
                log.exception("upload.sweep_failed")
            await asyncio.sleep(self.settings.sweep_interval)


def _report_unheard(task: asyncio.Task[Upload]) -> None:
    """A transfer whose request went away: nobody else hears how it ended, so a failure that is
    not an answer to the client (a bug, the database down) is logged here."""
    if not task.cancelled() and not isinstance(task.exception(), ApiError | None):
        log.error("upload.transfer_failed", exc_info=task.exception())
