"""The dispatcher against real receivers on loopback and real PostgreSQL: what a request carries,
retries with one delivery id, giving up, hostile or dead receivers (each costs only its own
deliveries), and what is deleted when."""

from __future__ import annotations

import asyncio
import time

import psutil
from aiohttp import web
from prometheus_client import REGISTRY

from tests.webhooks.conftest import SITE, deliveries, state_of, wait_until
from tests.webhooks.receivers import (
    SECRET,
    answer,
    endless_body,
    hang_forever,
    raw_server,
    refused_url,
)
from webhooks import verify


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_event_is_signed_and_delivered_at_once(pool, record, receivers, dispatchers):
    receiver = await receivers(answer(204))
    # Polling every 30 s: only the database's notification can make this delivery prompt.
    await dispatchers([receiver.url], poll_interval=30)
    ok_before = counted("tributary_webhook_attempts_total", endpoint="0", result="ok")
    await wait_until(lambda: _listening(pool))

    started = time.monotonic()
    name = await record()
    [got] = await receiver.wait_for(1, timeout=5)
    assert got.at - started < 2.0

    headers = got.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Tributary-Webhooks")
    assert headers["Tributary-Event"] == "stream.started"
    assert abs(verify(SECRET, headers["Tributary-Signature"], got.body) - time.time()) < 5
    event = got.event
    assert event["type"] == "stream.started" and event["created_at"].endswith("Z")
    stream = event["data"]["stream"]
    assert stream["name"] == name and stream["title"] == "" and stream["channel"] is None
    assert stream["watch_url"] == f"{SITE}/watch/{name}"
    assert stream["started_at"].endswith("Z")

    await wait_until(lambda: _state_is(pool, got.delivery, "delivered"))
    row = await state_of(pool, got.delivery)
    assert (row["attempts"], row["last_status"], row["last_error"]) == (1, 204, None)
    assert counted("tributary_webhook_attempts_total", endpoint="0", result="ok") == ok_before + 1
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 1


async def test_retries_carry_the_same_delivery_id_until_a_2xx(pool, record, receivers, dispatchers):
    receiver = await receivers(answer(500, 500, 200))
    await dispatchers([receiver.url])
    await record()
    tries = await receiver.wait_for(3)
    assert len({r.delivery for r in tries}) == 1
    assert len({r.body for r in tries}) == 1, "every try sends the same bytes"
    for r in tries:
        verify(SECRET, r.headers["Tributary-Signature"], r.body)
    gaps = [b.at - a.at for a, b in zip(tries, tries[1:])]
    assert all(gap >= 0.1 for gap in gaps), gaps  # half the backoff (0.2 s) is fixed
    await wait_until(lambda: _state_is(pool, tries[0].delivery, "delivered"))
    row = await state_of(pool, tries[0].delivery)
    assert (row["attempts"], row["last_status"], row["last_error"]) == (3, 200, None)


async def test_a_receiver_that_keeps_failing_is_given_up_after_max_attempts(
    pool, record, receivers, dispatchers
):
    receiver = await receivers(answer(503, text="down for maintenance\n\x00\x1b[31m"))
    failed_before = counted("tributary_webhook_deliveries_total", endpoint="0", outcome="failed")
    await dispatchers([receiver.url])
    await record()
    tries = await receiver.wait_for(3)
    await wait_until(lambda: _state_is(pool, tries[0].delivery, "failed"))
    row = await state_of(pool, tries[0].delivery)
    assert row["attempts"] == 3 and row["last_status"] == 503
    assert row["last_error"] == "HTTP 503: down for maintenance   [31m"
    assert counted("tributary_webhook_deliveries_total", endpoint="0", outcome="failed") == failed_before + 1
    await asyncio.sleep(0.8)  # well past the longest backoff: no fourth try
    assert len(receiver.requests) == 3


async def test_hostile_and_dead_receivers_cost_only_their_own_deliveries(
    pool, record, receivers, dispatchers
):
    """One event to seven endpoints at once: a receiver that hangs, one that refuses
    connections, one that answers garbage, one whose header never ends, one streaming an
    endless 200 and one an endless 500, next to a healthy one. The healthy one is served at
    once; each other try ends within the timeout with its own error; no connection or task is
    left behind."""
    healthy = await receivers(answer(200))
    hanging = await receivers(hang_forever())
    endless_ok_left, endless_error_left = asyncio.Event(), asyncio.Event()
    endless_ok = await receivers(endless_body(200, endless_ok_left))
    endless_error = await receivers(endless_body(500, endless_error_left))
    long_header = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n"
    async with raw_server(b"SURPRISE! not HTTP at all\r\n\r\n") as garbage, raw_server(long_header) as header:
        urls = [healthy.url, hanging.url, refused_url(), garbage, header, endless_ok.url, endless_error.url]
        await dispatchers(urls, request_timeout=2.0, max_attempts=1)
        started = time.monotonic()
        await record()

        [got] = await healthy.wait_for(1)
        assert got.at - started < 1.5, "the healthy receiver waited for the hanging one (2 s)"
        await endless_ok.wait_for(1)
        async with asyncio.timeout(3):
            await endless_ok_left.wait()  # the dispatcher hung up instead of reading on
            await endless_error_left.wait()

        await wait_until(lambda: _all_finished(pool), timeout=5)
        rows = {row["endpoint"]: row for row in await deliveries(pool)}
        assert time.monotonic() - started < 4.0
        assert rows[healthy.url]["state"] == "delivered"
        assert rows[endless_ok.url]["state"] == "delivered"
        assert rows[hanging.url]["last_error"] == "no answer within 2 s"
        assert rows[urls[2]]["last_error"].startswith("ClientConnectorError")
        assert "refused" in rows[urls[2]]["last_error"].lower()
        assert rows[garbage]["last_error"].startswith("ClientResponseError")
        assert rows[header]["last_error"].startswith("ClientResponseError")
        assert rows[endless_error.url]["last_error"] == "HTTP 500: " + "x" * 200
        for url in urls:
            assert url not in (rows[url]["last_error"] or "")
        failed = [url for url, row in rows.items() if row["state"] == "failed"]
        assert len(failed) == 5

    ports = {int(url.split(":")[2].split("/")[0]) for url in urls}
    await asyncio.sleep(0.1)
    still_open = [c for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port in ports]
    # Keep-alive connections to the two receivers that answered in full may stay open while the
    # dispatcher runs; nothing else may.
    assert {c.raddr.port for c in still_open} <= {_port(healthy.url)}, still_open


async def test_one_hanging_receiver_does_not_delay_another(pool, record, receivers, dispatchers):
    """One request at a time per endpoint: the hanging receiver holds its own slot only."""
    hanging = await receivers(hang_forever())
    healthy = await receivers(answer(200))
    await dispatchers([hanging.url, healthy.url], concurrency=1, request_timeout=5.0)
    started = time.monotonic()
    names = [await record() for _ in range(3)]
    got = await healthy.wait_for(3, timeout=3)
    assert time.monotonic() - started < 2.0
    assert [r.event["data"]["stream"]["name"] for r in got] == names  # in order, one at a time
    assert len(hanging.requests) == 1


async def test_without_urls_nothing_is_sent_and_events_do_not_pile_up(pool, record, dispatchers):
    await dispatchers([], secret=None, retention=1)
    await record()
    await wait_until(lambda: _count(pool, "SELECT count(*) FROM webhook_events WHERE body IS NOT NULL"))
    assert await pool.fetchval("SELECT count(*) FROM webhook_deliveries") == 0
    await wait_until(lambda: _none_left(pool), timeout=5)


async def test_old_events_are_deleted_once_no_configured_endpoint_waits_for_them(
    pool, record, receivers, dispatchers
):
    healthy = await receivers(answer(200))
    down = await receivers(answer(500))
    # The failing endpoint's retry is far off, so its delivery stays pending past the retention.
    first = await dispatchers([healthy.url, down.url], retention=1, backoff_base=60, backoff_cap=60)
    await record()
    await healthy.wait_for(1)
    await down.wait_for(1)
    await asyncio.sleep(1.5)
    await wait_until(lambda: _count(pool, "SELECT count(*) FROM webhook_events"), timeout=3)
    rows = await deliveries(pool)
    assert {(row["endpoint"], row["state"]) for row in rows} == {
        (healthy.url, "delivered"), (down.url, "pending")}

    # Once the failing endpoint is no longer configured, nobody will send its delivery.
    await first.stop()
    await dispatchers([healthy.url], retention=1)
    await wait_until(lambda: _none_left(pool), timeout=3)


async def test_a_burst_is_delivered_in_full_never_above_the_concurrency(
    pool, record, receivers, dispatchers
):
    in_flight = peak = 0

    async def slow(_request: web.Request, _n: int) -> web.StreamResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.05)
        finally:
            in_flight -= 1
        return web.Response()

    receiver = await receivers(slow)
    await dispatchers([receiver.url], concurrency=3)
    names = {await record() for _ in range(20)}
    got = await receiver.wait_for(20)
    assert {r.event["data"]["stream"]["name"] for r in got} == names
    assert len({r.delivery for r in got}) == 20
    assert 1 < peak <= 3


async def _listening(pool) -> bool:
    """The dispatcher's connection has run LISTEN (its last statement while it waits)."""
    return bool(await pool.fetchval(
        """SELECT count(*) FROM pg_stat_activity
           WHERE datname = current_database() AND query LIKE 'LISTEN %'"""))


async def _state_is(pool, delivery: str, state: str) -> bool:
    return (await state_of(pool, delivery))["state"] == state


async def _all_finished(pool) -> bool:
    return not await pool.fetchval("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")


async def _count(pool, query: str) -> bool:
    return bool(await pool.fetchval(query))


async def _none_left(pool) -> bool:
    return await pool.fetchval("SELECT count(*) FROM webhook_events") == 0


def _port(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])
