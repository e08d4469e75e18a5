"""An uploaded video, from its raw file in storage to a ready HLS VOD: the job a worker runs.

``transcode_video(deps, public_id, raw_key)``:

1. a video already ready has nothing left to do (a retried job whose earlier try finished);
   anything an earlier, unfinished try left under the video's output prefix is deleted;
2. the raw upload is copied to scratch space and a child process (:mod:`vod.transcode.child`,
   niced) probes it, encodes every rendition, the poster, thumbnails and storyboard, and reports
   progress, which reaches the catalog at most every ``progress_interval`` seconds; its files go
   to storage while it works;
3. playlists and the storyboard track are stored, and one transaction makes the video ready
   (:mod:`vod.transcode.publish`); its playback manifest is written for edges.

Outcomes: a file that is not a playable video ends ``failed`` with the probe's reason for its
owner and the job succeeds (retrying cannot help). Anything else that goes wrong (storage, the
database, the child crashing) also leaves the video ``failed``, with a reason saying it was the
server's fault, and is raised so the job queue may retry. A cancelled job (its timeout, a
worker shutting down) kills the child and is re-raised without touching the status: whoever
cancelled decides. Every way out deletes the partial outputs and the scratch files; the raw
upload is never touched, so a failed video can be inspected or processed again.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from catalog.recordings import Recordings
from catalog.transcodes import Transcodes
from catalog.videos import Status, Video, Videos
from tributary.settings import Settings, TranscodeSettings
from vod.playback_manifest import PlaybackManifests
from vod.storage import ObjectNotFound, Storage, StorageError
from vod.transcode.probe import NotPlayable, SourceInfo
from vod.transcode.process import TranscodeChild
from vod.transcode.progress import ProgressWriter, VideoGone
from vod.transcode.protocol import (
    FileReady,
    Finished,
    Probed,
    Progress,
    Refused,
    TranscodeRequest,
    TranscodeResult,
)
from vod.transcode.publish import publish_transcode

log = structlog.get_logger(__name__)

SERVER_FAILURE = "the video could not be processed because of a server error; it may be tried again"
MISSING_UPLOAD = "the uploaded file is missing from storage"


@dataclass(frozen=True, slots=True)
class TranscodeDeps:
    """What a transcode needs from the node or worker that runs it."""

    storage: Storage
    pool: asyncpg.Pool
    settings: TranscodeSettings
    work_dir: Path
    """Scratch space: each job's own directory in it, removed when the job ends."""
    log_level: str = "INFO"

    @classmethod
    def from_settings(cls, settings: Settings, storage: Storage, pool: asyncpg.Pool) -> TranscodeDeps:
        return cls(
            storage=storage,
            pool=pool,
            settings=settings.transcode,
            work_dir=settings.transcode.work_dir or settings.data_dir / "transcode",
            log_level=settings.log_level,
        )


def output_prefix(public_id: str) -> str:
    """Where a video's outputs go. Public ids may start with ``-`` or ``_``, which cannot start
    a key segment, hence the ``video-`` in front (as playback manifests do)."""
    return f"videos/video-{public_id}"


async def transcode_video(deps: TranscodeDeps, public_id: str, raw_key: str) -> None:
    """Turn the upload at ``raw_key`` into the video ``public_id``'s HLS VOD (module docstring)."""
    videos = Videos(deps.pool)
    video = await videos.get(public_id)
    if video is None:
        log.info("transcode.video_gone", video=public_id)
        return
    manifests = PlaybackManifests(deps.storage, Recordings(deps.pool))
    if video.status is Status.READY:
        await _write_manifest(manifests, public_id)  # the earlier try may have stopped short of it
        return
    prefix = output_prefix(public_id)
    if raw_key.startswith(prefix + "/"):
        raise ValueError(f"the upload {raw_key} is under the outputs' prefix {prefix}/")
    await _delete_under(deps.storage, prefix)
    await _Job(deps, videos, manifests, video, prefix, raw_key).run()


class _UploadMissing(Exception):
    pass


class _Job:
    def __init__(
        self,
        deps: TranscodeDeps,
        videos: Videos,
        manifests: PlaybackManifests,
        video: Video,
        prefix: str,
        raw_key: str,
    ) -> None:
        self._deps = deps
        self._videos = videos
        self._manifests = manifests
        self._video = video
        self._prefix = prefix
        self._raw_key = raw_key
        self._log = log.bind(video=video.public_id)

    async def run(self) -> None:
        started = time.monotonic()
        work = self._deps.work_dir / f"{self._video.public_id}.{secrets.token_hex(4)}"
        await asyncio.to_thread(work.mkdir, parents=True)
        try:
            if await self._videos.set_status(self._video.id, Status.PROCESSING) is None:
                raise VideoGone
            outcome = await self._transcode(work)
            if isinstance(outcome, NotPlayable):
                await self._delete_outputs()
                await self._fail(outcome.reason)
                self._log.info("transcode.not_playable", reason=outcome.reason)
                return
            source, result = outcome
            ready = await publish_transcode(
                self._deps.storage,
                Transcodes(self._deps.pool),
                video_id=self._video.id,
                prefix=self._prefix,
                source=source,
                result=result,
            )
            if ready is None:
                raise VideoGone
        except VideoGone:
            await self._delete_outputs()
            self._log.info("transcode.video_gone")
            return
        except _UploadMissing:
            await self._fail(MISSING_UPLOAD)
            self._log.warning("transcode.upload_missing", key=self._raw_key)
            return
        except asyncio.CancelledError:
            await self._delete_outputs()
            self._log.info("transcode.cancelled")
            raise
        except Exception:
            self._log.exception("transcode.failed")
            await self._delete_outputs()
            await self._fail(SERVER_FAILURE)
            raise
        finally:
            await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
        await _write_manifest(self._manifests, self._video.public_id)
        renditions = [*result.renditions, *([result.audio] if result.audio else [])]
        self._log.info(
            "transcode.ready",
            seconds=round(result.duration, 3),
            renditions=[rendition.name for rendition in renditions],
            took=round(time.monotonic() - started, 1),
        )

    async def _transcode(self, work: Path) -> tuple[SourceInfo, TranscodeResult] | NotPlayable:
        """Download the upload and run the child to its end."""
        source_path, output_dir = work / "source", work / "out"
        try:
            await self._deps.storage.get_file(self._raw_key, source_path)
        except ObjectNotFound:
            raise _UploadMissing from None
        request = TranscodeRequest(
            source=source_path,
            output_dir=output_dir,
            settings=self._deps.settings,
            log_level=self._deps.log_level,
        )
        request_path = work / "request.json"
        await asyncio.to_thread(request_path.write_text, request.model_dump_json())
        source: SourceInfo | None = None
        progress: ProgressWriter | None = None
        outcome: tuple[SourceInfo, TranscodeResult] | NotPlayable | None = None
        async with TranscodeChild(request_path, video=self._video.public_id) as child:
            async for message in child.messages():  # to its end: the child's exit is checked
                match message:
                    case Probed(source=probed):
                        source = probed
                        progress = ProgressWriter(
                            self._videos,
                            self._video.id,
                            duration=probed.duration,
                            interval=self._deps.settings.progress_interval,
                        )
                    case Progress(seconds=seconds):
                        assert progress is not None
                        await progress.encoded(seconds)
                    case FileReady(name=name):
                        await self._store(output_dir / name, f"{self._prefix}/{name}")
                    case Refused(reason=reason):
                        outcome = NotPlayable(reason)
                    case Finished(result=result):
                        assert source is not None
                        outcome = source, result
        if outcome is None:
            raise RuntimeError("the transcoder ended without a result")
        return outcome

    async def _store(self, path: Path, key: str) -> None:
        data = await asyncio.to_thread(path.read_bytes)
        await self._deps.storage.put(key, data)
        await asyncio.to_thread(path.unlink)

    async def _fail(self, reason: str) -> None:
        await self._videos.set_status(self._video.id, Status.FAILED, failure_reason=reason)

    async def _delete_outputs(self) -> None:
        await _delete_under(self._deps.storage, self._prefix)


async def _delete_under(storage: Storage, prefix: str) -> None:
    for stored in await storage.list(prefix + "/"):
        await storage.delete(stored.key)


async def _write_manifest(manifests: PlaybackManifests, public_id: str) -> None:
    """The playback manifest for edges; logged, not raised: origins serve the video regardless."""
    try:
        await manifests.refresh(public_id)
    except StorageError as exc:
        log.warning("transcode.playback_manifest_failed", video=public_id, error=repr(exc))
