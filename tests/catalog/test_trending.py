"""Trending: order by the hot formula (engagement per age over the window), listed videos only,
scores refreshed by a task the API application owns."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest

from catalog import trending
from catalog.api.trending import _keep_scores_fresh
from catalog.trending import HotScores
from catalog.videos import Privacy
from tests.support.nodes import node_factory
from tests.support.videos import cursor_of, ids_of, internal_id, publish


async def activity(api, video: str, *, views: int = 0, likes: int = 0, dislikes: int = 0,
                   comments: int = 0, ago: timedelta = timedelta(hours=1)) -> None:
    """Views, reactions and a comment count for ``video``, ``ago`` in the past."""
    pool = api.node.node.pool
    vid = await internal_id(api, video)
    await pool.executemany(
        "INSERT INTO video_views (video_id, viewer, hour) VALUES ($1, $2, now() - $3::interval)",
        [(vid, os.urandom(16), ago) for _ in range(views)])
    for kind, count in (("like", likes), ("dislike", dislikes)):
        for _ in range(count):
            user = await api.register()
            await pool.execute(
                """INSERT INTO video_reactions (video_id, user_id, kind, created_at)
                   SELECT $1, id, $3, now() - $4::interval FROM users WHERE username = $2""",
                vid, user.username, kind, ago)
    await pool.execute("UPDATE videos SET comment_count = $2 WHERE id = $1", vid, comments)


def hot(*, views=0, likes=0, dislikes=0, comments=0, age_hours: float) -> float:
    """The formula of catalog/trending.py, written out."""
    engagement = views + 4 * likes - 4 * dislikes + 2 * comments
    return engagement / (age_hours + 2) ** 1.5


async def test_order_follows_the_formula(api):
    owner = await api.register(creator=True)
    ages = {"fresh": 1, "day_old": 30, "liked": 2, "disliked": 2, "discussed": 5, "stale": 3}
    ids = {name: await publish(api, owner, name, age=timedelta(hours=hours)) for name, hours in ages.items()}
    hidden = {privacy: await publish(api, owner, privacy.value, privacy=privacy, age=timedelta(hours=1))
              for privacy in (Privacy.UNLISTED, Privacy.PRIVATE)}
    engagement = {
        "fresh": {"views": 10}, "day_old": {"views": 10}, "liked": {"views": 3, "likes": 2},
        "disliked": {"views": 1, "dislikes": 3}, "discussed": {"views": 1, "comments": 4},
    }
    for name, counts in engagement.items():
        await activity(api, ids[name], **counts)
    await activity(api, ids["stale"], views=50, ago=trending.WINDOW + timedelta(hours=2))
    for video in hidden.values():
        await activity(api, video, views=100)
    await HotScores(api.node.node.pool).refresh()

    expected = {name: hot(**engagement[name], age_hours=ages[name]) for name in engagement}
    ranked = [name for name in sorted(expected, key=expected.get, reverse=True) if expected[name] > 0]
    assert ranked == ["fresh", "liked", "discussed", "day_old"]  # the disliked one sinks out
    ours = {video: name for name, video in ids.items()}
    shown = [ours[video] for video in await ids_of(api, "/trending", limit="2") if video in ours]
    assert shown == ranked
    assert not set(hidden.values()) & set(await ids_of(api, "/trending", limit="100"))
    scores = dict(await api.node.node.pool.fetch(
        "SELECT v.public_id, h.score FROM video_hot_scores h JOIN videos v ON v.id = h.video_id"))
    for name in ranked:
        assert scores[ids[name]] == pytest.approx(expected[name], rel=1e-3)

    # Made private, or deleted: gone at once, before the next refresh.
    await api.call("PATCH", f"/videos/{ids['fresh']}", json={"privacy": "private"}, account=owner)
    await api.call("DELETE", f"/videos/{ids['liked']}", account=owner)
    left = [ours[v] for v in await ids_of(api, "/trending", limit="100") if v in ours]
    assert left == ["discussed", "day_old"]
    # The next refresh drops what is no longer listed.
    await HotScores(api.node.node.pool).refresh()
    assert ids["fresh"] not in {row[0] for row in await api.node.node.pool.fetch(
        "SELECT v.public_id FROM video_hot_scores h JOIN videos v ON v.id = h.video_id")}


async def test_forged_cursors(api):
    for key in (["x", 1], [1.5, 0], [1.5], "AAAA"):
        got = await api.call("GET", "/trending", params={"cursor": cursor_of(key)})
        assert (got.status, got.body["error"]) == (400, "invalid_cursor"), key


def refreshers() -> int:
    """Trending refresh tasks running in this process (one per running node)."""
    name = _keep_scores_fresh.__qualname__
    return sum(1 for task in asyncio.all_tasks() if task.get_coro().__qualname__ == name)


async def test_the_api_refreshes_scores_in_the_background(api, services, tmp_path):
    owner = await api.register(creator=True)
    video = await publish(api, owner)
    await activity(api, video, views=3)
    pool = api.node.node.pool
    before = refreshers()
    async with node_factory(services, tmp_path) as start:
        await start()  # a second node on the same catalog: it refreshes as it starts
        assert refreshers() == before + 1
        for _ in range(100):
            if await pool.fetchval("SELECT score FROM video_hot_scores h JOIN videos v ON v.id = h.video_id"
                                   " WHERE v.public_id = $1", video):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the new node did not refresh the hot scores")
    assert refreshers() == before  # cancelled on shutdown
