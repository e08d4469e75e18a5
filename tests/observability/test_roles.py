"""Every role is alive (``/healthz``), ready (``/readyz``: its dependencies answer) and exports
its metrics, with HTTP latency for its own routes: the origin and an edge in this process, a
chat node and a worker as the processes a cluster runs (``serve chat``, ``serve worker``).
A role whose dependency is down answers ``/readyz`` with 503 and says which one."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.observability.prometheus import scrape, scrape_until
from tests.support.api_client import api_for
from tests.support.chat_client import ChatClient
from tests.support.edges import RunningEdge, edge_factory
from tests.support.nodes import RunningNode
from tests.support.role_process import RoleProcess, start_role
from tributary.health_endpoints import add_health_routes, database_and_redis, storage_reachable
from tributary.http_site import serve
from tributary.redis_client import open_redis
from tributary.secret_key import FILE_NAME
from tributary.settings import S3Settings
from vod.storage import LocalStorage, S3Storage

HTTP_COUNT = "tributary_http_request_seconds_count"
FAMILIES = {
    "origin": {
        "tributary_live_streams", "tributary_ingest_received_bytes", "tributary_ingest_dropped_frames",
        "tributary_ingest_stream_bits_per_second", "tributary_packager_lag_seconds",
        "tributary_packager_dropped_frames", "tributary_chat_connections", "tributary_jobs_queued",
        "tributary_http_request_seconds",
    },
    "edge": {
        "tributary_edge_requests", "tributary_edge_origin_fetches", "tributary_edge_request_seconds",
        "tributary_http_request_seconds",
    },
    "chat": {"tributary_chat_connections", "tributary_chat_messages", "tributary_http_request_seconds"},
    "worker": {"tributary_jobs_queued", "tributary_job_seconds", "tributary_http_request_seconds"},
}


@pytest.fixture(scope="module")
async def processes(services, origin: RunningNode, tmp_path_factory) -> AsyncIterator[dict[str, RoleProcess]]:
    """A chat node and a worker, started side by side, with the origin's secret key (the chat
    node checks the access tokens the origin's API hands out) and a job queue of their own."""
    env = {
        "TRIBUTARY_SECRET_KEY": (origin.node.settings.data_dir / FILE_NAME).read_text().strip(),
        "TRIBUTARY_JOBS__QUEUE_NAME": f"observability-{uuid.uuid4().hex[:12]}",
    }
    base = tmp_path_factory.mktemp("roles")
    roles = ("chat", "worker")
    started = await asyncio.gather(
        *(start_role(role, services.database_url, services.redis_url, base / role, env) for role in roles),
        return_exceptions=True,
    )
    running = [role for role in started if isinstance(role, RoleProcess)]
    try:
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome
        yield dict(zip(roles, running))
    finally:
        await asyncio.gather(*(role.stop() for role in running))


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_every_role_is_alive_ready_and_measured(
    origin: RunningNode, edge: RunningEdge, processes: dict[str, RoleProcess], http
):
    bases = {"origin": origin.http, "edge": edge.http, **{name: p.http for name, p in processes.items()}}
    for role, base in bases.items():
        for path, text in (("/healthz", "ok\n"), ("/readyz", "ready\n")):
            async with http.get(base + path) as response:
                assert (response.status, await response.text()) == (200, text), (role, path)
                assert response.headers["Cache-Control"] == "no-store"
        first = await scrape(http, base)
        assert FAMILIES[role] <= first.families.keys(), (role, FAMILIES[role] - first.families.keys())
        second = await scrape(http, base)
        for route in ("/healthz", "/readyz", "/metrics"):
            assert second.value(HTTP_COUNT, method="GET", route=route, status="2xx") >= 1, (role, route)


async def test_chat_connections_and_messages_on_a_chat_node(
    origin: RunningNode, processes: dict[str, RoleProcess], http
):
    """The WebSocket a client chats over is counted as a connection, not timed as a request."""
    chat = processes["chat"].http
    async with api_for(origin) as api:
        owner = await api.register(creator=True)
        name = f"o{uuid.uuid4().hex[:12]}"
        created = await api.call("POST", "/live-streams", json={"name": name}, account=owner)
        assert created.status == 201, created.body
    client = await ChatClient().connect(chat, owner.access)
    try:
        await client.join(f"live:{name}")
        assert (await client.send(f"live:{name}", "hello"))["ok"]
        during = await scrape(http, chat)
    finally:
        await client.close()
    assert during.value("tributary_chat_connections", signed_in="true") == 1
    assert during.value("tributary_chat_messages_total", kind="live") == 1
    assert during.samples("tributary_chat_event_seconds_count", event="send")
    assert not during.samples(HTTP_COUNT, route="/socket.io/")
    await scrape_until(http, chat, lambda s: s.value("tributary_chat_connections", signed_in="true") == 0)


async def test_readiness_names_the_dependency_that_is_down(
    services, origin: RunningNode, dead_port: int, tmp_path, http
):
    """An edge whose origins are all down; a role whose Redis is gone and whose object storage
    does not answer (its PostgreSQL and its local disk still do)."""
    async with edge_factory(origin.node.settings.data_dir) as start:
        lonely = await start([f"http://127.0.0.1:{dead_port}"])
        await _expect(http, lonely.http, 503, ["no origin is healthy"])

    assert origin.node.pool is not None
    dead_redis = open_redis(f"redis://127.0.0.1:{dead_port}")
    dead_s3 = S3Storage(S3Settings(
        bucket="nowhere", endpoint_url=f"http://127.0.0.1:{dead_port}", region="us-east-1",
        access_key_id="x", secret_access_key="x", connect_timeout=0.5, attempts=1,
    ))
    await dead_s3.open()
    app = aiohttp.web.Application()
    add_health_routes(app, (
        *database_and_redis(origin.node.pool, dead_redis),
        storage_reachable(dead_s3),
        storage_reachable(LocalStorage(tmp_path)),
    ))
    runner, port = await serve(app, "127.0.0.1", 0)
    try:
        body = await _expect(http, f"http://127.0.0.1:{port}", 503, ["redis_server: ", "storage: "])
        assert "database" not in body and body.count("storage") == 1, body
    finally:
        await runner.cleanup()
        await dead_s3.close()
        await dead_redis.aclose(close_connection_pool=True)


async def _expect(http: aiohttp.ClientSession, base: str, status: int, reasons: list[str]) -> str:
    """``/healthz`` still answers 200 (the process is alive); ``/readyz`` answers ``status``,
    one reason per line; its body."""
    async with http.get(f"{base}/healthz") as response:
        assert response.status == 200
    async with http.get(f"{base}/readyz") as response:
        body = await response.text()
        assert response.status == status, body
    for reason in reasons:
        assert any(line.startswith(reason) for line in body.splitlines()), (reason, body)
    return body
