"""An edge's origins: a dead one is skipped and then passed over (health checks), a stream can
have origins of its own, a stale copy is served when nothing upstream answers, a recovered
origin is used again, and the edge says all this at /readyz and /metrics."""

from __future__ import annotations

import asyncio
import socket
import time
import types
from collections.abc import Iterator

import pytest
from aiohttp import web

import edge.proxy as edge_proxy
from edge.health import HealthChecker
from edge.upstream import OriginHealth
from catalog.recordings import Recordings
from tests.support.api_client import Api
from tests.support.edges import edge_factory
from tests.support.nodes import node_factory
from tests.support.recorded_videos import get, recorded_video
from tests.vod.media import fmp4_segments
from origin.http_common import http_error
from tributary.health_endpoints import add_health_routes
from vod.recording import Recorder


@pytest.fixture
def dead_origin() -> Iterator[str]:
    """An address where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_dead_origin_is_skipped_then_passed_over(live_node, dead_origin, http):
    node, name = live_node
    async with edge_factory(node.node.settings.data_dir) as start:
        edge = await start([dead_origin, node.http], health_interval=0.2)
        status, _, _ = await get(http, f"{edge.http}/live/{name}/master.m3u8")
        assert status == 200
        errors = edge.origins.errors  # at most the one attempt before health checks caught up
        for _ in range(5):
            status, _, _ = await get(http, f"{edge.http}/live/{name}/source/index.m3u8")
            assert status == 200
        assert edge.origins.errors == errors <= 1
        status, body, _ = await get(http, f"{edge.http}/readyz")
        assert status == 200
        status, body, _ = await get(http, f"{edge.http}/metrics")
        metrics = body.decode()
        assert f'tributary_edge_origin_fetches_total{{origin="{node.http}"}}' in metrics
        assert 'tributary_edge_requests_total{outcome="miss"}' in metrics
        assert "tributary_edge_request_seconds_bucket" in metrics


async def test_a_stream_can_have_origins_of_its_own(live_node, dead_origin, http):
    node, name = live_node
    async with edge_factory(node.node.settings.data_dir) as start:
        edge = await start([dead_origin], stream_origins={name: [node.http]})
        status, _, _ = await get(http, f"{edge.http}/live/{name}/master.m3u8")
        assert status == 200
        status, body, headers = await get(http, f"{edge.http}/live/another/master.m3u8")
        assert status == 502 and b"no origin answered" in body and headers["Cache-Control"] == "no-store"
        status, _, _ = await get(http, f"{edge.http}/readyz")
        assert status == 200  # the stream's origin is healthy

        lonely = await start([dead_origin])
        status, body, _ = await get(http, f"{lonely.http}/readyz")
        assert status == 503 and b"no origin is healthy" in body


async def test_each_origin_packages_its_own_streams(live_node, services, tmp_path, http):
    """Two origins, a stream on the second: the first's 404 means "not here", so the edge asks
    the next; a stream no origin has is a 404 after asking both, and neither is marked down."""
    node, name = live_node
    async with node_factory(services, tmp_path / "other") as start:
        other = await start()
        async with edge_factory(node.node.settings.data_dir) as start_edge:
            edge = await start_edge([other.http, node.http])
            for path in ("master.m3u8", "source/index.m3u8"):
                status, _, _ = await get(http, f"{edge.http}/live/{name}/{path}")
                assert status == 200, path
            status, _, _ = await get(http, f"{edge.http}/live/nowhere/master.m3u8")
            assert status == 404
            assert edge.origins.errors == 0
            assert edge.origins.fetches == 6  # both origins asked for each of the three


async def test_stale_if_error_when_every_origin_is_gone(services, tmp_path, monkeypatch, http):
    """A VOD playlist may be served a day past its minute of freshness while no origin answers."""
    async with node_factory(services, tmp_path) as start_node:
        origin = await start_node()
        settings = origin.node.settings
        recorder = Recorder(origin.node.storage, Recordings(origin.node.pool), queue_bytes=1 << 26)
        api = Api(http, origin.api, origin)
        public_id, _ = await recorded_video(api, recorder, fmp4_segments(seconds=1))
        async with edge_factory(settings.data_dir) as start_edge:
            edge = await start_edge([origin.http])
            url = f"{edge.http}/vod/{public_id}/master.m3u8"
            status, fresh, headers = await get(api, url)
            assert status == 200 and headers["X-Cache"] == "MISS"
            await origin.node.stop()

            # Two minutes on, for the edge: its copy is no longer fresh.
            two_minutes_on = types.SimpleNamespace(
                monotonic=lambda: time.monotonic() + 120, perf_counter=time.perf_counter
            )
            monkeypatch.setattr(edge_proxy, "time", two_minutes_on)
            status, stale, headers = await get(api, url)
            assert status == 200 and headers["X-Cache"] == "STALE" and stale == fresh
            status, _, _ = await get(api, f"{edge.http}/vod/{public_id}/source/index.m3u8")
            assert status == 502  # never fetched, so nothing to fall back on


async def test_a_recovered_origin_is_used_again_without_waiting(http):
    """An origin that answers /healthz again is back at once, long before ``retry_after``."""
    healthy = True

    async def ready() -> str | None:
        return None

    app = web.Application()
    add_health_routes(app, (ready,))

    @web.middleware
    async def switch(request: web.Request, handler):  # the origin process dies and comes back
        if not healthy:
            raise web.HTTPServiceUnavailable()
        return await handler(request)

    app.middlewares.append(switch)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    health = OriginHealth(retry_after=3600)
    checker = HealthChecker([url], http, health, interval=0.05, timeout=1)
    try:
        checker.start()
        await asyncio.sleep(0.2)
        assert health.is_up(url)
        healthy = False
        await until(lambda: not health.is_up(url))
        healthy = True
        await until(lambda: health.is_up(url))  # long before retry_after
    finally:
        await checker.close()
        await runner.cleanup()


async def until(condition, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)




async def test_a_503_is_an_answer_not_an_outage(http, tmp_path):
    """An origin's 503 about one request ("no media yet", a blocking reload that timed out) is
    passed on with its Retry-After and leaves the origin in rotation for everything else."""
    app = web.Application()

    async def starting(request: web.Request) -> web.Response:
        raise http_error(web.HTTPServiceUnavailable, "the stream has no media yet", {"Retry-After": "1"})

    async def live(request: web.Request) -> web.Response:
        return web.Response(text="#EXTM3U\n", headers={"Cache-Control": "no-cache"})

    app.router.add_get("/live/starting/master.m3u8", starting)
    app.router.add_get("/live/up/master.m3u8", live)
    add_health_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        async with edge_factory(tmp_path) as start:
            edge = await start([f"http://127.0.0.1:{sock.getsockname()[1]}"])
            status, body, headers = await get(http, f"{edge.http}/live/starting/master.m3u8")
            assert status == 503 and headers["Retry-After"] == "1" and b"no media yet" in body
            status, _, _ = await get(http, f"{edge.http}/live/up/master.m3u8")
            assert status == 200 and edge.origins.errors == 0
    finally:
        await runner.cleanup()
