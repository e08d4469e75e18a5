"""Uploads for the transcode tests: a video made through the API (``POST /videos``, status
``uploading``, as the upload flow does), its file in the node's storage, and a transcode that
runs exactly as a worker runs it (``transcode_video``), into the node's storage and catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog.videos import Privacy
from tests.support.api_client import Account, Api
from tests.support.nodes import RunningNode
from tests.support.videos import upload
from tributary.settings import TranscodeSettings
from vod.transcode.pipeline import TranscodeDeps

SETTINGS = TranscodeSettings(
    heights=[720, 480, 360, 240],  # a 640x360 source gets 360p and 240p: nothing upscaled
    preset="veryfast",
    thumbnails=3,
    storyboard_interval=1.0,
    storyboard_tile_width=96,
    storyboard_columns=2,
    storyboard_rows=2,  # 4 tiles a sheet: a 6 s video fills one sheet and half of another
    progress_interval=0.1,  # several catalog writes even for a short clip
)


def transcode_deps(node: RunningNode, work_dir: Path, **settings: Any) -> TranscodeDeps:
    assert node.node.storage is not None and node.node.pool is not None
    return TranscodeDeps(
        storage=node.node.storage,
        pool=node.node.pool,
        settings=SETTINGS.model_copy(update=settings),
        work_dir=work_dir,
    )


async def uploaded(
    api: Api, owner: Account, data: bytes, title: str = "an upload", privacy: Privacy = Privacy.PUBLIC
) -> tuple[str, str]:
    """A video whose upload is ``data``: ``(public id, storage key of the upload)``."""
    video_id = await upload(api, owner, title, privacy=privacy.value)
    raw_key = f"uploads/raw-{video_id}"
    storage = api.node.node.storage
    assert storage is not None
    await storage.put(raw_key, data)
    return video_id, raw_key
