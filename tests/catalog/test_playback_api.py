"""Playback tokens from the API follow the visibility rule and verify with the playback key only."""

from __future__ import annotations

import time

import pytest

from catalog import playback_tokens
from catalog.access import Role
from catalog.channels import Channels
from catalog.videos import Privacy, Status, Videos


@pytest.fixture
async def world(api):
    """An owner with one video of each kind, a stranger, and an admin."""
    owner, stranger, admin = await api.register(creator=True), await api.register(), await api.register()
    await api.set_role(admin, Role.ADMIN)
    pool = api.node.node.pool
    channel = await Channels(pool).by_handle(owner.channel)
    videos = Videos(pool)
    made = {privacy: await videos.create(channel.id, f"{privacy.value} video", privacy=privacy,
                                         status=Status.READY)
            for privacy in Privacy}
    made["processing"] = await videos.create(channel.id, "not yet", privacy=Privacy.PUBLIC,
                                             status=Status.PROCESSING)
    return owner, stranger, admin, {k: v.public_id for k, v in made.items()}


async def token_for(api, video_id: str, account=None, **params: str):
    return await api.call("POST", f"/videos/{video_id}/playback-token", account=account,
                          params=params or None)


async def test_visibility_rule(api, world):
    owner, stranger, admin, ids = world
    expected = {  # video → (anonymous, stranger, owner, admin)
        Privacy.PUBLIC: (201, 201, 201, 201),
        Privacy.UNLISTED: (201, 201, 201, 201),
        Privacy.PRIVATE: (404, 404, 201, 201),
        "processing": (404, 404, 409, 409),
    }
    for video, statuses in expected.items():
        got = [(await token_for(api, ids[video], account)).status
               for account in (None, stranger, owner, admin)]
        assert tuple(got) == statuses, video
    unknown = await token_for(api, "AAAAAAAAAAA", stranger)
    private = await token_for(api, ids[Privacy.PRIVATE], stranger)
    assert unknown.body == private.body == {"error": "not_found", "detail": "video not found"}


async def test_issued_token_verifies_at_an_edge(api, world):
    owner, stranger, _, ids = world
    key = api.node.node.api.playback_key
    got = await token_for(api, ids[Privacy.PRIVATE], owner)
    grant = playback_tokens.verify(key, got.body["token"], ids[Privacy.PRIVATE])
    assert grant.viewer_id is None and grant.expires_at > time.time() + 3600
    with pytest.raises(playback_tokens.InvalidPlaybackToken):
        playback_tokens.verify(key, got.body["token"], ids[Privacy.PUBLIC])

    bound = await token_for(api, ids[Privacy.UNLISTED], stranger, bind_viewer="true")
    viewer = bound.body["viewer_id"]
    assert viewer is not None
    playback_tokens.verify(key, bound.body["token"], ids[Privacy.UNLISTED], viewer)
    with pytest.raises(playback_tokens.InvalidPlaybackToken, match="viewer"):
        playback_tokens.verify(key, bound.body["token"], ids[Privacy.UNLISTED], str(int(viewer) + 1))
    # Binding needs someone to bind to.
    assert (await token_for(api, ids[Privacy.PUBLIC], bind_viewer="true")).status == 401


async def test_bad_video_ids(api):
    for video_id in ("short", "A" * 12, "AAAAAAAAAA!", "%00AAAAAAAAAA", "AAAAAAAAAA%C3%A9"):
        got = await token_for(api, video_id)
        assert got.status in (400, 404, 422), (video_id, got.status)
        assert got.body["error"]
