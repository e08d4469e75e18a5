"""Several dispatchers on one database: each event once in the normal case; a dispatcher that
stops mid-request hands its try back, and one killed mid-request (a real ``serve worker``,
SIGKILLed) loses nothing: another sends the same delivery when the lease runs out."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from tests.support.role_process import role_process
from tests.webhooks.conftest import state_of, wait_until
from tests.webhooks.receivers import SECRET, answer, hang_first


async def test_two_dispatchers_deliver_each_event_once(pool, record, receivers, dispatchers):
    receiver = await receivers(answer(200))
    await dispatchers([receiver.url])
    await dispatchers([receiver.url])
    names = {await record() for _ in range(30)}
    got = await receiver.wait_for(30)
    await asyncio.sleep(0.5)  # time for a duplicate to show up
    assert len(receiver.requests) == 30
    assert {r.event["data"]["stream"]["name"] for r in got} == names
    assert len({r.delivery for r in got}) == 30


async def test_a_stopped_dispatcher_hands_its_try_back(pool, record, receivers, dispatchers):
    released = asyncio.Event()
    receiver = await receivers(hang_first(released))
    first = await dispatchers([receiver.url], request_timeout=30)
    await record()
    [held] = await receiver.wait_for(1)
    await first.stop()  # mid-request

    row = await state_of(pool, held.delivery)
    assert (row["state"], row["attempts"]) == ("pending", 0), "handed back, the try not counted"
    started = time.monotonic()
    await dispatchers([receiver.url], request_timeout=30)
    [_, again] = await receiver.wait_for(2)
    assert again.delivery == held.delivery and again.body == held.body
    assert time.monotonic() - started < 2.0, "due at once, not after its lease"
    await wait_until(lambda: _delivered(pool, held.delivery))
    assert (await state_of(pool, held.delivery))["attempts"] == 1


async def test_a_killed_workers_delivery_is_sent_by_another(
    services, webhook_database, pool, record, receivers, dispatchers, tmp_path
):
    released = asyncio.Event()
    receiver = await receivers(hang_first(released))
    env = {
        "TRIBUTARY_WEBHOOKS__URLS": json.dumps([receiver.url]),
        "TRIBUTARY_WEBHOOKS__SECRET": SECRET,
        "TRIBUTARY_WEBHOOKS__REQUEST_TIMEOUT": "1",
        "TRIBUTARY_WEBHOOKS__POLL_INTERVAL": "0.2",
        "TRIBUTARY_JOBS__QUEUE_NAME": f"test-{uuid.uuid4().hex[:12]}",
    }
    async with role_process("worker", webhook_database, services.redis_url, tmp_path / "worker", env) as worker:
        await record()
        [held] = await receiver.wait_for(1)
        worker.kill()  # mid-request: no result written, nothing handed back
        await worker.proc.wait()

    row = await state_of(pool, held.delivery)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    await dispatchers([receiver.url], request_timeout=1)
    [_, again] = await receiver.wait_for(2, timeout=10)
    assert again.delivery == held.delivery and again.body == held.body
    # The lease (2 × timeout + 1 s) had to run out first.
    assert again.at - held.at >= 2.5
    await wait_until(lambda: _delivered(pool, held.delivery))
    assert (await state_of(pool, held.delivery))["attempts"] == 2


async def _delivered(pool, delivery: str) -> bool:
    return (await state_of(pool, delivery))["state"] == "delivered"
