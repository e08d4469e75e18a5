"""Ready videos made the way a live recording becomes one (real fMP4 through the recorder into
the node's storage and catalog), and a raw HTTP getter for probing the routes that serve them."""

from __future__ import annotations

import time
import uuid

import aiohttp
import yarl

from catalog.live_streams import LiveStreamCatalog
from packager.live.window import SegmentInfo, VariantInfo
from tests.support.api_client import Account, Api


async def recorded_video(api: Api, recorder, media, privacy: str = "public") -> tuple[str, Account]:
    """A creator's stream, recorded (three segments) and published; its public id and owner."""
    owner = await api.register(creator=True)
    name = f"v{uuid.uuid4().hex[:12]}"
    assert (await api.call("POST", "/live-streams", json={"name": name}, account=owner)).status == 201
    stream = await LiveStreamCatalog(api.node.node.pool).by_name(name)
    recording = recorder.start(stream)
    rendition = recording.rendition("source")
    init, segments = media
    rendition.init_added(5, init)
    for msn, data in enumerate(segments, start=50):
        info = SegmentInfo(msn=msn, duration=1.0, program_date_time=time.time(), init_id=5,
                           discontinuity=False, complete=True, parts=())
        rendition.segment_completed(info, data)
    await recording.finish(
        [VariantInfo(name="source", codecs="avc1.64000d", bandwidth=1, width=320, height=180)])
    items = (await api.call("GET", f"/channels/{owner.channel}/videos", account=owner)).body["items"]
    public_id = items[0]["id"]
    if privacy != "public":
        got = await api.call("PATCH", f"/videos/{public_id}", json={"privacy": privacy}, account=owner)
        assert got.status == 200
    return public_id, owner


async def get(client: Api | aiohttp.ClientSession, url: str, *, method: str = "GET",
              headers: dict[str, str] | None = None, raw: bool = False):
    """Status, body and headers; ``raw`` sends the path exactly as written (no normalising)."""
    session = client.session if isinstance(client, Api) else client
    target = yarl.URL(url, encoded=True) if raw else url
    async with session.request(method, target, headers=headers or {}) as resp:
        return resp.status, await resp.read(), resp.headers
