"""Property-based fuzzing of the whole ``/api/v1`` from its OpenAPI document (schemathesis).

A real node (real PostgreSQL and Redis) answers over real HTTP on 127.0.0.1. For every
documented operation schemathesis sends valid and invalid requests (its coverage phase:
boundary values, wrong types, missing and unknown fields, unexpected methods; then
``MAX_EXAMPLES`` generated ones), first anonymously, then as a registered creator, so protected
operations are exercised past the 401. About half the time a path parameter (or a body's
``video_id``) names a seeded object (two channels, a stream and its keys, videos of every
privacy, comments, playlists, a watch history entry) instead of a random one, so requests also
reach real rows, the caller's and someone else's. Deletions and key rotations get objects of
their own, so the rest keep finding theirs.

Every answer must: not be a 5xx; match the documented status codes, content types, headers and
schemas; refuse what the document says is invalid; when 4xx, be the JSON error
``{"error": str, "detail": ...}``; never be a 429 (limits are raised here so they hide nothing).
Afterwards every counter still equals the rows it counts (no partial writes), and, as in every
catalog test, no request logged ``api.unexpected_error``.

Schemathesis makes one test per operation at collection, so the document is built there from
the routes (``test_fuzzed_document_is_the_served_one`` checks it is the one served). Its tests
are synchronous (``requests``), so this module's node runs its own event loop in a thread
rather than sharing the session loop a synchronous test would block. The run is bounded and
deterministic: a fixed seed, no example database.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.api.app import PREFIX, create_api
from catalog.api.context import ApiContext
from catalog.api.openapi import build_document
from catalog.videos import Privacy, Status
from tests.support import nodes
from tests.support.api_client import Account, api_for
from tests.support.nodes import RunningNode
from tests.support.social import make_video
from tributary.node import Node
from tributary.settings import ApiSettings

SEED = 20240917
MAX_EXAMPLES = 30  # generated requests per operation and caller, besides the coverage phase's
T = TypeVar("T")


# -- the node, in a thread ------------------------------------------------------------------

class ThreadedNode:
    """A node on its own event loop in a thread, for synchronous clients in the test's thread."""

    def __init__(self, services: Any, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-node", daemon=True)
        self._thread.start()
        limits = {"auth_rate": "1000000/minute", "write_rate": "1000000/minute"}
        self.node = Node(nodes.test_settings(services, data_dir, api=limits))
        try:
            self.run(self.node.start())
        except BaseException:
            self._stop_loop()
            raise
        self.running = RunningNode(self.node)

    def run(self, coro: Awaitable[T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        try:
            self.run(self.node.stop())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


# -- seeded objects -------------------------------------------------------------------------

@dataclass
class Seeded:
    creator: Account
    known: dict[str, list[Any]]  # parameter name -> values naming seeded objects
    victims: dict[str, list[Any]]  # the same, for the operations in DESTRUCTIVE
    openapi: dict[str, Any]  # the document as served


DESTRUCTIVE = {
    "DELETE /api/v1/videos/{video_id}": "video_id",
    "DELETE /api/v1/comments/{comment_id}": "comment_id",
    "DELETE /api/v1/playlists/{playlist_id}": "playlist_id",
    "DELETE /api/v1/live-streams/{name}/keys/{key_id}": "key_id",
    "POST /api/v1/live-streams/{name}/keys/{key_id}/rotate": "key_id",
}
"""Operations that use up the object their path names (``label: parameter``)."""


async def seed(node: RunningNode) -> Seeded:
    async with api_for(node) as api:

        async def call(method: str, path: str, account: Account, json: Any = None) -> Any:
            got = await api.call(method, path, json=json, account=account)
            assert got.status in (200, 201, 204), (method, path, got.status, got.body)
            return got.body

        creator = await api.register(creator=True)
        other = await api.register(creator=True)  # someone else's objects: 403 or 404, never 500
        stream = f"fz-{creator.username[1:]}"
        key_ids = [(await call("POST", "/live-streams", creator, {"name": stream}))["key"]["id"]]
        for label in ("a", "b", "c", "d"):
            key_ids.append((await call("POST", f"/live-streams/{stream}/keys", creator,
                                       {"label": label}))["key"]["id"])

        async def video(owner: Account, privacy: Privacy = Privacy.PUBLIC,
                        status: Status = Status.READY) -> str:
            return await make_video(api, owner, f"{privacy.value} {status.value} fuzz video",
                                    privacy=privacy, status=status, tags=["fuzz"], duration=42.0)

        videos = [await video(creator, p) for p in Privacy]
        videos += [await video(creator, status=Status.PROCESSING),
                   await video(other, Privacy.PRIVATE), await video(other)]
        doomed_videos = [await video(creator), await video(creator, Privacy.UNLISTED), await video(other)]

        async def comment(video_id: str, author: Account) -> int:
            return (await call("POST", f"/videos/{video_id}/comments", author, {"text": "first"}))["id"]

        async def reply(comment_id: int, author: Account) -> int:
            return (await call("POST", f"/comments/{comment_id}/replies", author, {"text": "re"}))["id"]

        mine, theirs = await comment(videos[0], creator), await comment(videos[0], other)
        comments = [mine, theirs, await reply(mine, other), await comment(videos[-1], other)]
        await call("PUT", f"/comments/{theirs}/like", creator)
        doomed_first = await comment(videos[0], creator)
        doomed_comments = [doomed_first, await reply(doomed_first, creator),
                           await comment(videos[0], other), await comment(videos[-1], other)]

        async def playlist(owner: Account) -> str:
            made = (await call("POST", "/playlists", owner, {"title": "mix"}))["id"]
            await call("POST", f"/playlists/{made}/items", owner, {"video_id": videos[0]})
            return made

        playlists = ["WL", await playlist(creator), await playlist(other)]
        doomed_playlists = ["WL", await playlist(creator), await playlist(other)]
        await call("POST", "/playlists/WL/items", creator, {"video_id": videos[1]})
        await call("PUT", f"/channels/{other.channel}/subscription", creator)
        await call("PUT", f"/me/history/{videos[0]}", creator, {"position_seconds": 12.5})
        await call("PUT", f"/videos/{videos[-1]}/reaction", creator, {"reaction": "like"})
        openapi = await api.call("GET", "/openapi.json")
        assert openapi.status == 200
        known = {"handle": [creator.channel, other.channel], "name": [stream], "key_id": key_ids[:2],
                 "video_id": videos, "comment_id": comments, "playlist_id": playlists}
        victims = {"key_id": key_ids[2:], "video_id": doomed_videos, "comment_id": doomed_comments,
                   "playlist_id": doomed_playlists}
        return Seeded(creator, known, victims, openapi.body)


@pytest.fixture(scope="module")
def fuzz_node(services, tmp_path_factory) -> Iterator[ThreadedNode]:
    node = ThreadedNode(services, tmp_path_factory.mktemp("fuzz"))
    try:
        yield node
    finally:
        node.close()


@pytest.fixture(scope="module")
def seeded(fuzz_node) -> Iterator[Seeded]:
    seeded = fuzz_node.run(seed(fuzz_node.running))
    SEEDED.append(seeded)
    yield seeded
    SEEDED.clear()


SEEDED: list[Seeded] = []
"""The module's seeded objects while its fixture lives, for the hook below (hooks take no fixtures)."""


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


# -- the schema -----------------------------------------------------------------------------

def _document() -> dict[str, Any]:
    """The document the API serves, built from the routes alone (it needs nothing else)."""
    unused: Any = None
    ctx = ApiContext(settings=ApiSettings(), pool=unused, passwords=unused, access_tokens=unused,
                     playback_key=b"", rate_limits=unused, public_urls=unused, live_now=unused)
    api = create_api(ctx)
    web.Application().add_subapp(PREFIX, api)  # mounted as the node mounts it: paths under /api/v1
    return build_document(api)


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "database": "none",  # nothing replayed from earlier runs: the same requests every time
        # The bearer token is ours (or absent); a generated one would only test the JWT parser.
        "with-security-parameters": False,
    },
    "request-timeout": 30,
}))
BODY_VIDEO = "body.video_id"


@schema.hook
def flatmap_case(context: schemathesis.HookContext, case: schemathesis.Case) -> st.SearchStrategy:
    """About half the time, each path parameter (and a body's ``video_id``) names a seeded
    object instead of a random one. Schemathesis re-checks a case whose parts were replaced, so
    a negative case made valid this way is judged as valid."""
    seeded = SEEDED[0]
    doomed = DESTRUCTIVE.get(context.operation.label if context.operation else "")

    def values(name: str) -> list[Any]:
        return seeded.victims[name] if name == doomed else seeded.known[name]

    maybe = {name: st.none() | st.sampled_from(values(name))
             for name in case.path_parameters if name in seeded.known}
    if isinstance(case.body, dict) and "video_id" in case.body:
        maybe[BODY_VIDEO] = st.none() | st.sampled_from(seeded.known["video_id"])
    if not maybe:
        return st.just(case)
    return st.fixed_dictionaries(maybe).map(lambda picked: _with_known(case, picked))


def _with_known(case: schemathesis.Case, picked: dict[str, Any]) -> schemathesis.Case:
    chosen = {name: value for name, value in picked.items() if value is not None}
    body_video = chosen.pop(BODY_VIDEO, None)
    if chosen:
        case.path_parameters = {**case.path_parameters, **chosen}  # assigned, so re-checked
    if body_video is not None:
        case.body = {**case.body, "video_id": body_video}
    return case


# -- checks ---------------------------------------------------------------------------------

def error_shape(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                case: schemathesis.Case) -> None:
    """Never a 429 (the limits would hide the endpoints); every 4xx is the API's JSON error."""
    assert response.status_code != 429, "rate limited: the fuzzer would test only the limiter"
    if 400 <= response.status_code < 500:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/json"), (content_type, response.text[:200])
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error", "detail"}, body
        assert isinstance(body["error"], str) and body["error"], body
        assert isinstance(body["detail"], (str, list)), body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    error_shape,
]
FUZZ_SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck), print_blob=False)


def call_and_check(case: schemathesis.Case, node: ThreadedNode, http: requests.Session,
                   headers: dict[str, str]) -> None:
    response = case.call(base_url=node.running.http, session=http, headers=headers, timeout=30)
    case.validate_response(response, checks=CHECKS, headers=headers)


# -- the tests, in this order: anonymous callers change nothing the creator's run needs -----

def test_fuzzed_document_is_the_served_one(seeded):
    assert seeded.openapi == DOCUMENT


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_anonymous(case, fuzz_node, seeded, http):
    call_and_check(case, fuzz_node, http, {})


@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_as_creator(case, fuzz_node, seeded, http):
    call_and_check(case, fuzz_node, http, seeded.creator.auth)


COUNTERS = {
    "videos.comment_count": """
        SELECT v.public_id, v.comment_count, count(c.id) FILTER (
            WHERE c.deleted_at IS NULL AND c.hidden_at IS NULL)
        FROM videos v LEFT JOIN comments c ON c.video_id = v.id GROUP BY v.id""",
    "videos.like_count": """
        SELECT v.public_id, v.like_count, count(r.user_id) FILTER (WHERE r.kind = 'like')
        FROM videos v LEFT JOIN video_reactions r ON r.video_id = v.id GROUP BY v.id""",
    "videos.dislike_count": """
        SELECT v.public_id, v.dislike_count, count(r.user_id) FILTER (WHERE r.kind = 'dislike')
        FROM videos v LEFT JOIN video_reactions r ON r.video_id = v.id GROUP BY v.id""",
    "videos.view_count": """
        SELECT v.public_id, v.view_count, count(w.viewer)
        FROM videos v LEFT JOIN video_views w ON w.video_id = v.id GROUP BY v.id""",
    "comments.reply_count": """
        SELECT c.id, c.reply_count, count(r.id) FILTER (
            WHERE r.deleted_at IS NULL AND r.hidden_at IS NULL)
        FROM comments c LEFT JOIN comments r ON r.thread_id = c.id
        WHERE c.thread_id IS NULL GROUP BY c.id""",
    "comments.like_count": """
        SELECT c.id, c.like_count, count(l.user_id)
        FROM comments c LEFT JOIN comment_likes l ON l.comment_id = c.id GROUP BY c.id""",
    "channels.subscriber_count": """
        SELECT ch.handle, ch.subscriber_count, count(s.user_id)
        FROM channels ch LEFT JOIN subscriptions s ON s.channel_id = ch.id GROUP BY ch.id""",
}


def test_counters_equal_their_rows_after_fuzzing(fuzz_node, seeded):
    """No partial writes: after everything the fuzzers did (they run first), each counter
    equals the rows it counts."""
    pool = fuzz_node.node.pool
    assert pool is not None
    wrong = {}
    for counter, query in COUNTERS.items():
        rows = fuzz_node.run(pool.fetch(query))
        assert rows, counter
        wrong[counter] = [tuple(row) for row in rows if row[1] != row[2]]
    assert not any(wrong.values()), wrong
