"""Ready videos that really play, for the web UI's watch-page tests: an upload made through the
API, transcoded as a worker transcodes it (``transcode_video``) into the node's storage and
catalog. A 640x360 source gets two renditions (360p, 240p), so the quality menu has a choice,
and a storyboard a frame a second, so seek previews have pictures."""

from __future__ import annotations

from pathlib import Path

from catalog.videos import Privacy
from tests.support.api_client import Account, Api
from tests.support.ffmpeg import Source, make_file
from tests.support.transcodes import transcode_deps, uploaded
from vod.transcode.pipeline import transcode_video


async def upload_source(
    api: Api,
    owner: Account,
    work_dir: Path,
    *,
    seconds: float = 20,
    title: str = "A watchable video",
    privacy: Privacy = Privacy.PUBLIC,
) -> tuple[str, str]:
    """A video still ``uploading`` whose upload (a 640x360 clip) is in storage: ``(public id,
    storage key of the upload)``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    source = work_dir / "source.mp4"
    await make_file(source, Source(seconds=seconds, width=640, height=360, realtime=False))
    return await uploaded(api, owner, source.read_bytes(), title, privacy)


async def transcode(api: Api, video_id: str, raw_key: str, work_dir: Path) -> None:
    """Process the upload as a worker does; the video is ready after."""
    deps = transcode_deps(
        api.node, work_dir / "work", storyboard_tile_width=160, storyboard_columns=5, storyboard_rows=5
    )
    await transcode_video(deps, video_id, raw_key)


async def transcoded_video(
    api: Api,
    owner: Account,
    work_dir: Path,
    *,
    seconds: float = 20,
    title: str = "A watchable video",
    privacy: Privacy = Privacy.PUBLIC,
) -> str:
    """A ready video of ``seconds`` seconds on ``owner``'s channel; its public id."""
    video_id, raw_key = await upload_source(
        api, owner, work_dir, seconds=seconds, title=title, privacy=privacy
    )
    await transcode(api, video_id, raw_key, work_dir)
    got = await api.call("GET", f"/videos/{video_id}", account=owner)
    assert got.body["status"] == "ready", got.body
    return video_id
