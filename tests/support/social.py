"""Videos and ids for the tests of comments, subscriptions, history, playlists and related videos.

Videos are made through the data module (no upload pipeline is needed to have a ready video).
"""

from __future__ import annotations

from typing import Any

from catalog.channels import Channels
from catalog.videos import Privacy, Status, Videos
from tests.support.api_client import Account, Api


async def make_video(
    api: Api,
    owner: Account,
    title: str = "a video",
    *,
    privacy: Privacy = Privacy.PUBLIC,
    status: Status = Status.READY,
    tags: list[str] | None = None,
    duration: float | None = None,
) -> str:
    """A video on ``owner``'s channel; returns its public id."""
    pool = api.node.node.pool
    channel = await Channels(pool).by_handle(owner.channel)
    video = await Videos(pool).create(channel.id, title, tags=tags, privacy=privacy, status=status)
    if duration is not None:
        await pool.execute("UPDATE videos SET duration_seconds = $2 WHERE id = $1", video.id, duration)
    return video.public_id


async def walk(api: Api, path: str, account: Account | None = None, **params: str) -> list[Any]:
    """Every item of a paged list, following next_cursor."""
    seen, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        got = await api.call("GET", path, account=account, params=query)
        assert got.status == 200, got.body
        seen += got.body["items"]
        cursor = got.body["next_cursor"]
        if cursor is None:
            return seen


async def set_privacy(api: Api, video_id: str, privacy: Privacy) -> None:
    await api.node.node.pool.execute(
        "UPDATE videos SET privacy = $2 WHERE public_id = $1", video_id, privacy.value)


EndpointSpec = tuple[str, str, dict[str, Any] | None, str | None]


async def social_endpoints(api: Api, owner: Account) -> list[EndpointSpec]:
    """(method, path, valid body, who) of every endpoint of comments, subscriptions, history,
    playlists and related videos, for the shared bad-input suite. Bodies with numbers or
    nullable fields are left out (None): that suite's wrong-type values would be valid there;
    their own tests cover them."""
    video = await make_video(api, owner)
    comment = await api.call("POST", f"/videos/{video}/comments", json={"text": "first"}, account=owner)
    playlist = await api.call("POST", "/playlists", json={"title": "mix"}, account=owner)
    c, p, h = f"/comments/{comment.body['id']}", f"/playlists/{playlist.body['id']}", owner.channel
    text = {"text": "t"}
    return [
        ("GET", f"/videos/{video}/comments", None, None),
        ("POST", f"/videos/{video}/comments", text, "owner"),
        ("GET", c, None, None), ("PATCH", c, text, "owner"), ("DELETE", c, None, "owner"),
        ("GET", f"{c}/replies", None, None), ("POST", f"{c}/replies", text, "owner"),
        *[(method, f"{c}/{action}", None, "owner")
          for action in ("like", "pin", "hide") for method in ("PUT", "DELETE")],
        *[(method, f"/channels/{h}/subscription", None, "owner") for method in ("GET", "PUT", "DELETE")],
        ("GET", "/me/subscriptions", None, "owner"), ("GET", "/me/feed", None, "owner"),
        ("GET", "/me/history", None, "owner"), ("DELETE", "/me/history", None, "owner"),
        *[(method, f"/me/history/{video}", None, "owner") for method in ("GET", "PUT", "DELETE")],
        ("POST", "/playlists", {"title": "t", "description": "d"}, "owner"),
        ("GET", "/me/playlists", None, "owner"), ("GET", f"/channels/{h}/playlists", None, None),
        ("GET", p, None, None), ("PATCH", p, {"title": "t", "description": "d"}, "owner"),
        ("DELETE", p, None, "owner"),
        ("GET", f"{p}/items", None, None), ("POST", f"{p}/items", {"video_id": video}, "owner"),
        ("PATCH", f"{p}/items/{video}", None, "owner"), ("DELETE", f"{p}/items/{video}", None, "owner"),
        ("GET", f"/videos/{video}/related", None, None),
    ]
