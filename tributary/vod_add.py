"""``tributary vod add FILE --title T``: put a video file into the catalog from the command line,
with progress bars for storing it and for transcoding it.

An operator's tool, like ``tributary stream create``: it talks to the catalog and storage the
node is configured with (embedded ones too) and runs the same transcode a worker runs
(:func:`vod.transcode.pipeline.transcode_video`) in this process, so it works with or without a
running node. The video goes to the operator channel unless ``--channel`` names another. The
file is stored where uploads go (:func:`vod.uploads.source_key`) and kept there, as an upload is.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from tqdm import tqdm

from catalog.channels import Channels
from catalog.recordings import Recordings
from catalog.videos import Privacy, Status, Video, Videos
from vod.storage import Storage
from vod.transcode.pipeline import TranscodeDeps, transcode_video
from vod.uploads import source_key

POLL_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class NewVideo:
    path: Path
    title: str
    description: str = ""
    privacy: Privacy = Privacy.PRIVATE
    channel: str | None = None
    """A channel handle; None: the operator channel."""


class AddFailed(Exception):
    """Why the video was not added (said to the operator, exit status 1)."""


async def add_video(new: NewVideo, pool: asyncpg.Pool, storage: Storage, deps: TranscodeDeps) -> Video:
    """Create the video, store the file, transcode it; the ready video, or :class:`AddFailed`."""
    if not new.path.is_file():
        raise AddFailed(f"{new.path} is not a file")
    channel_id = await _channel(pool, new.channel)
    videos = Videos(pool)
    video = await videos.create(
        channel_id, new.title, description=new.description, privacy=new.privacy
    )
    raw_key = source_key(video.public_id)
    size = new.path.stat().st_size
    with tqdm(total=size, unit="B", unit_scale=True, desc="storing", file=sys.stderr) as bar:
        await storage.put_file(raw_key, new.path)
        bar.update(size)
    await videos.set_status(video.id, Status.PROCESSING)
    transcode = asyncio.create_task(transcode_video(deps, video.public_id, raw_key))
    try:
        finished = await _follow(videos, video.public_id, transcode)
    except BaseException:  # Ctrl-C: the transcode is cancelled (its child killed, outputs gone)
        transcode.cancel()
        await asyncio.gather(transcode, return_exceptions=True)
        await videos.set_status(video.id, Status.FAILED, failure_reason="cancelled from the command line")
        raise
    if finished.status is not Status.READY:
        raise AddFailed(f"video {video.public_id} failed: {finished.failure_reason}")
    return finished


async def _channel(pool: asyncpg.Pool, handle: str | None) -> int:
    if handle is None:
        return await Recordings(pool).operator_channel()
    channel = await Channels(pool).by_handle(handle)
    if channel is None:
        raise AddFailed(f"no channel with the handle {handle!r}")
    return channel.id


async def _follow(videos: Videos, public_id: str, transcode: asyncio.Task[None]) -> Video:
    """Show the catalog's progress (what the API reports) until the transcode ends."""
    with tqdm(total=100, unit="%", desc="transcoding", file=sys.stderr,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}") as bar:
        while not transcode.done():
            await asyncio.wait({transcode}, timeout=POLL_SECONDS)
            current = await videos.get(public_id)
            if current is not None:
                bar.update(current.progress_percent - bar.n)
        await transcode  # a server-side error is raised here
        final = await videos.get(public_id)
        assert final is not None
        bar.update(final.progress_percent - bar.n)
    return final
