"""Related videos: shared tags and co-watching rank candidates; only listed videos, never the
video itself nor what the caller has finished."""

from __future__ import annotations

import asyncio

from catalog.videos import Privacy, Status
from tests.support.social import make_video


async def related(api, video, account=None, **params):
    got = await api.call("GET", f"/videos/{video}/related", account=account, params=params or None)
    assert got.status == 200, got.body
    return [item["id"] for item in got.body["items"]]


async def watch(api, account, video, position=10.0, **fields):
    got = await api.call("PUT", f"/me/history/{video}", account=account,
                         json={"position_seconds": position, **fields})
    assert got.status == 200, got.body


async def test_shared_tags_rank_and_only_listed_videos_count(api):
    owner = await api.register(creator=True)
    tag = owner.username  # unique to this test: other tests' videos do not interfere
    source = await make_video(api, owner, tags=[f"{tag}-a", f"{tag}-b", f"{tag}-c"])
    two = await make_video(api, owner, tags=[f"{tag}-a", f"{tag}-b", "other"])
    one = await make_video(api, owner, tags=[f"{tag}-c"])
    await make_video(api, owner, tags=["unrelated"])
    for privacy in (Privacy.UNLISTED, Privacy.PRIVATE):
        await make_video(api, owner, tags=[f"{tag}-a", f"{tag}-b", f"{tag}-c"], privacy=privacy)
    await make_video(api, owner, tags=[f"{tag}-a"], status=Status.PROCESSING)
    assert await related(api, source) == [two, one]
    assert await related(api, source, owner) == [two, one]  # not even the owner's own private ones
    assert await related(api, source, limit="1") == [two]


async def test_co_watching_and_finished_videos(api):
    owner, me = await api.register(creator=True), await api.register()
    source, popular, rare, finished = [await make_video(api, owner, duration=100.0) for _ in range(4)]
    viewers = await asyncio.gather(*[api.register() for _ in range(4)])
    for i, viewer in enumerate(viewers):
        await watch(api, viewer, source)
        await watch(api, viewer, popular)
        if i == 0:
            await watch(api, viewer, rare)
        await watch(api, viewer, finished)
    # popular and finished: every sampled viewer (a tie, newer first); rare: one of four.
    assert await related(api, source) == [finished, popular, rare]
    await watch(api, me, finished, 99)  # finished by me: not recommended to me
    mine = await related(api, source, me)
    assert finished not in mine and mine[-1] == rare and set(mine) == {popular, rare}
    assert finished in await related(api, source)  # still for everyone else
    await api.node.node.pool.execute(
        "UPDATE videos SET privacy = 'unlisted' WHERE public_id = $1", popular)
    assert popular not in await related(api, source, me)


async def test_invisible_source_and_bad_limits(api):
    owner, stranger = await api.register(creator=True), await api.register()
    private = await make_video(api, owner, privacy=Privacy.PRIVATE)
    got = await api.call("GET", f"/videos/{private}/related", account=stranger)
    assert (got.status, got.body["detail"]) == (404, "video not found")
    assert (await api.call("GET", f"/videos/{private}/related", account=owner)).status == 200
    public = await make_video(api, owner)
    for limit in ("0", "51", "-1", "x", "1.5", str(2**70)):
        got = await api.call("GET", f"/videos/{public}/related", params={"limit": limit})
        assert got.status == 422, limit
