"""Videos for the tests of videos, reactions, views, search and trending: made through the API
(``POST /videos``), then taken through processing with the data module's hook, as the upload
pipeline will."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from catalog.videos import Privacy, Status, Videos
from tests.support.api_client import Account, Api
from tests.support.social import walk


async def upload(api: Api, owner: Account, title: str = "a video", **fields: Any) -> str:
    """A new video (status ``uploading``, private unless ``privacy`` says otherwise); its id."""
    got = await api.call("POST", "/videos", json={"title": title, **fields}, account=owner)
    assert got.status == 201, got.body
    return got.body["id"]


async def publish(
    api: Api,
    owner: Account,
    title: str = "a video",
    *,
    privacy: Privacy = Privacy.PUBLIC,
    duration: float | None = None,
    age: timedelta | None = None,
    **fields: Any,
) -> str:
    """A ready video (uploaded, then processed), published ``age`` ago (now by default)."""
    video_id = await upload(api, owner, title, privacy=privacy.value, **fields)
    pool = api.node.node.pool
    videos = Videos(pool)
    video = await videos.get(video_id)
    await videos.set_status(video.id, Status.READY, duration_seconds=duration)
    if age is not None:
        await pool.execute(
            "UPDATE videos SET created_at = now() - $2::interval, published_at = now() - $2::interval"
            " WHERE id = $1", video.id, age)
    return video_id


async def ids_of(api: Api, path: str, account: Account | None = None, **params: str) -> list[str]:
    """The ids of every item of a paged list of videos."""
    return [item["id"] for item in await walk(api, path, account, **params)]


async def internal_id(api: Api, video_id: str) -> int:
    return await api.node.node.pool.fetchval("SELECT id FROM videos WHERE public_id = $1", video_id)


def cursor_of(key: object) -> str:
    """A cursor as a list would encode ``key`` (forged, for tests of cursor validation)."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).rstrip(b"=").decode()
