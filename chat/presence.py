"""Viewer counts per room, summed over every chat node.

Each node keeps its own count per room in memory and publishes it to a Redis hash (field =
node id) together with a heartbeat key that expires if the node dies. A room's count is the
sum of the fields whose node is alive, so a crashed node's viewers stop counting within one
heartbeat lifetime and its fields are swept by whoever reads them next.

Counts are pushed to the room at most once a second per node (joins in a burst become one
update), and every few seconds anyway, so a change on another node or a node's death reaches
everyone.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
import structlog

log = structlog.get_logger(__name__)

PREFIX = "tributary:chat:"
_FLUSH_SECONDS = 1.0
_REFRESH_SECONDS = 5.0
_HEARTBEAT_SECONDS = 15

Announce = Callable[[str, int], Awaitable[None]]
"""(room, count) → tell the room."""


class Presence:
    def __init__(self, client: redis.Redis, node_id: str, announce: Announce) -> None:
        self._redis = client
        self._node = node_id
        self._announce = announce
        self._local: Counter[str] = Counter()
        self._dirty: set[str] = set()
        self._announced: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._heartbeat()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="chat-presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in self._local:
                pipe.hdel(f"{PREFIX}viewers:{room}", self._node)
            pipe.delete(f"{PREFIX}node:{self._node}")
            await pipe.execute()

    def joined(self, room: str) -> None:
        self._local[room] += 1
        self._dirty.add(room)

    def left(self, room: str) -> None:
        self._local[room] -= 1
        if self._local[room] <= 0:
            del self._local[room]
        self._dirty.add(room)

    async def count(self, room: str) -> int:
        """The room's viewers on every live node, this node's as of now."""
        await self._publish(room)
        return await self._total(room)

    async def _run(self) -> None:
        loops_per_refresh = round(_REFRESH_SECONDS / _FLUSH_SECONDS)
        tick = 0
        while True:
            await asyncio.sleep(_FLUSH_SECONDS)
            tick += 1
            try:
                if tick % loops_per_refresh == 0:
                    await self._heartbeat()
                    self._dirty.update(self._local)
                rooms, self._dirty = self._dirty, set()
                for room in rooms:
                    await self._publish(room)
                    total = await self._total(room)
                    if room not in self._local:
                        self._announced.pop(room, None)
                    if self._announced.get(room) != total:
                        self._announced[room] = total
                        await self._announce(room, total)
            except (redis.RedisError, OSError) as exc:
                log.warning("chat.presence_failed", error=str(exc))

    async def _heartbeat(self) -> None:
        await self._redis.set(f"{PREFIX}node:{self._node}", 1, ex=_HEARTBEAT_SECONDS)

    async def _publish(self, room: str) -> None:
        key = f"{PREFIX}viewers:{room}"
        count = self._local.get(room, 0)
        if count:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, self._node, count)
                pipe.expire(key, _HEARTBEAT_SECONDS * 4)
                await pipe.execute()
        else:
            await self._redis.hdel(key, self._node)

    async def _total(self, room: str) -> int:
        key = f"{PREFIX}viewers:{room}"
        counts = {node.decode(): int(count) for node, count in (await self._redis.hgetall(key)).items()}
        if not counts:
            return 0
        nodes = list(counts)
        alive = await self._redis.mget([f"{PREFIX}node:{node}" for node in nodes])
        dead = [node for node, beat in zip(nodes, alive) if beat is None]
        if dead:
            await self._redis.hdel(key, *dead)
        return sum(count for node, count in counts.items() if node not in dead)
