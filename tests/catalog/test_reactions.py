"""Likes and dislikes: one per user per video, counters exact under concurrency."""

from __future__ import annotations

import asyncio
import random

from catalog.videos import Privacy
from tests.support.videos import internal_id, publish, upload


async def react(api, video, account, reaction):
    if reaction is None:
        return await api.call("DELETE", f"/videos/{video}/reaction", account=account)
    return await api.call("PUT", f"/videos/{video}/reaction", json={"reaction": reaction}, account=account)


def state(answer):
    assert answer.status == 200, answer.body
    return answer.body["reaction"], answer.body["like_count"], answer.body["dislike_count"]


async def test_like_switch_remove(api):
    owner, fan = await api.register(creator=True), await api.register()
    video = await publish(api, owner)
    path = f"/videos/{video}/reaction"
    assert state(await api.call("GET", path, account=fan)) == (None, 0, 0)
    assert state(await react(api, video, fan, "like")) == ("like", 1, 0)
    assert state(await react(api, video, fan, "like")) == ("like", 1, 0)  # repeated: no change
    assert state(await react(api, video, owner, "like")) == ("like", 2, 0)
    assert state(await react(api, video, fan, "dislike")) == ("dislike", 1, 1)
    assert state(await api.call("GET", path, account=fan)) == ("dislike", 1, 1)
    assert state(await react(api, video, fan, None)) == (None, 1, 0)
    assert state(await react(api, video, fan, None)) == (None, 1, 0)  # nothing left to remove
    got = await api.call("GET", f"/videos/{video}")
    assert (got.body["like_count"], got.body["dislike_count"]) == (1, 0)


async def test_who_may_react(api):
    owner, stranger = await api.register(creator=True), await api.register()
    public = await publish(api, owner)
    private = await publish(api, owner, privacy=Privacy.PRIVATE)
    unlisted = await publish(api, owner, privacy=Privacy.UNLISTED)
    uploading = await upload(api, owner)
    for method, body in (("GET", None), ("PUT", {"reaction": "like"}), ("DELETE", None)):
        for video, account, status in (
                (public, None, 401), (private, stranger, 404), (unlisted, stranger, 200)):
            got = await api.call(method, f"/videos/{video}/reaction", json=body, account=account)
            assert got.status == status, (method, video, got.body)
    # The owner sees their video while it uploads, but it takes no reactions yet.
    got = await react(api, uploading, owner, "like")
    assert (got.status, got.body["error"]) == (409, "not_ready")
    for bad in ({"reaction": "love"}, {"reaction": None}, {}, {"reaction": "like", "extra": 1}):
        got = await api.call("PUT", f"/videos/{public}/reaction", json=bad, account=stranger)
        assert got.status == 422, bad


async def test_concurrent_likes_count_exactly(api):
    owner = await api.register(creator=True)
    users = await asyncio.gather(*[api.register() for _ in range(50)])
    video = await publish(api, owner)
    await asyncio.gather(*[react(api, video, user, "like") for user in users])
    got = await api.call("GET", f"/videos/{video}")
    assert (got.body["like_count"], got.body["dislike_count"]) == (50, 0)

    # Everyone changes their mind at once, several times, in a random order; the counters must
    # equal what the reaction rows say.
    rng = random.Random(7)
    choices = ["like", "dislike", None]
    requests = [react(api, video, user, rng.choice(choices)) for user in users for _ in range(3)]
    rng.shuffle(requests)
    answers = await asyncio.gather(*requests)
    assert {a.status for a in answers} == {200}
    pool = api.node.node.pool
    vid = await internal_id(api, video)
    truth = await pool.fetchrow(
        """SELECT count(*) FILTER (WHERE kind = 'like') AS likes,
                  count(*) FILTER (WHERE kind = 'dislike') AS dislikes
           FROM video_reactions WHERE video_id = $1""", vid)
    counters = await pool.fetchrow("SELECT like_count, dislike_count FROM videos WHERE id = $1", vid)
    assert (counters["like_count"], counters["dislike_count"]) == (truth["likes"], truth["dislikes"])
    assert truth["likes"] + truth["dislikes"] <= 50


async def test_one_user_racing_themself(api):
    owner, fan = await api.register(creator=True), await api.register()
    video = await publish(api, owner)
    rng = random.Random(11)
    await asyncio.gather(*[react(api, video, fan, rng.choice(["like", "dislike", None])) for _ in range(40)])
    final = state(await api.call("GET", f"/videos/{video}/reaction", account=fan))
    assert final in ((None, 0, 0), ("like", 1, 0), ("dislike", 0, 1))


async def test_deleting_a_video_while_reactions_arrive(api):
    owner = await api.register(creator=True)
    users = await asyncio.gather(*[api.register() for _ in range(10)])
    video = await publish(api, owner)
    answers = await asyncio.gather(
        *[react(api, video, user, "like") for user in users],
        api.call("DELETE", f"/videos/{video}", account=owner))
    assert {a.status for a in answers} <= {200, 204, 404}
