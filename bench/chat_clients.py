"""Chat clients as a load generator: one process holding thousands of Socket.IO connections in
one room, a few of them sending, every one of them timing every message it receives.

``python -m bench.chat_clients --spec SPEC.json`` is one generator process (``bench/chat_fanout.py``
starts them; the spec says which nodes, which room, how many anonymous clients per node and
which signed-in senders). How long connecting takes is part of what is measured, so nothing is
scheduled in advance: the process takes commands from its parent on stdin and answers each
with one JSON line on stdout.

* At start it connects the spec's senders, then its clients (at most ``concurrency``
  handshakes in flight, none started after ``connect_budget`` seconds), each one joining the
  room, and answers with the batch: how many joined, failures by kind, the join times.
* ``{"add": [n0, n1], "budget": s}``: as many more anonymous clients per node, same answer.
* ``{"status": since}``: per node, clients joined, still open, answered a ping since
  ``since``, dropped (the hold phase: nobody sends, only heartbeats flow).
* ``{"send": {"send_from", "window": [start, end], "stop_at"}}``: the senders send from
  ``send_from`` until the window ends, each message's text carrying the sender's
  ``time.monotonic()`` just before the frame goes into the socket; at ``stop_at`` the figures
  go to the spec's ``out`` file and the answer is ``{"done": true}``.
* anything else, or end of input: drop every connection and exit.

Every client answers the server's pings all along (the realistic heartbeat).

Measured: a message counts when it was sent inside the window, at clients that had joined
before the window started (so every one of them should get every such message); latency is the
client's arrival time minus the send time in the text, binned at 0.1 ms (a histogram instead of
millions of floats), split by whether the client is on the sender's node (``local``) or on the
other one (``remote``: through Redis). Receipts are counted per message, so the parent can tell
delivered from expected. A message is parsed once per process (every client of a node gets the
same bytes once inflated), and the event loop's lag is sampled every 10 ms during the window:
every client's copy of a message arrives at once, so the last clients' stamps also wait for the
generator to get through the others, and the lag shows how much.

Each message also carries ``time``, Redis's clock (milliseconds since the epoch) when the
sender's node stored it; converted to this process's monotonic clock it splits every latency
into *send → stored* (the node taking the message in: checks, Redis round trips) and
*stored → arrival* (broadcast, Redis pub/sub to the other node, fan-out), each within a
millisecond (the stamp is truncated to whole milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench.socketio_client import ClientError, SocketIOClient

LAG_TICK = 0.01
BIN = 10_000
"""Latency bins per second (0.1 ms)."""
_MEMO_LIMIT = 10_000
_MESSAGE = b'42["message",'


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one event packet says; ``key`` is None for anything but a benchmark message."""

    name: str
    key: str | None = None
    sender_node: int = -1
    sent_at: float = 0.0
    stored_at: float = 0.0
    """The message's ``time`` (Redis's clock when the node stored it, whole milliseconds) on
    this process's monotonic clock: it splits a latency into the sender's node taking the
    message in (send → stored) and the fan-out (stored → arrival)."""


class Crowd:
    """The listener of every client of this process: what arrived and when (who left, and
    when, each client keeps itself)."""

    def __init__(self) -> None:
        self.window: tuple[float, float] | None = None
        self.latency: dict[str, Counter[int]] = {"local": Counter(), "remote": Counter()}
        self.after_store: Counter[int] = Counter()
        self.max_latency = 0.0
        self.ingress: dict[str, float] = {}
        self.receipts: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.acks: Counter[str] = Counter()
        self._wall_minus_monotonic = time.time() - time.monotonic()
        self._memo: dict[bytes, Parsed] = {}

    def event(self, client: SocketIOClient, packet: bytes, now: float) -> None:
        parsed = self._memo.get(packet)
        if parsed is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            parsed = self._memo[packet] = _parse_event(packet, self._wall_minus_monotonic)
        self.events[parsed.name] += 1
        window, key = self.window, parsed.key
        if (key is None or window is None or client.joined_at is None
                or client.joined_at >= window[0] or not window[0] <= parsed.sent_at <= window[1]):
            return
        latency = now - parsed.sent_at
        where = "local" if parsed.sender_node == client.tag else "remote"
        self.latency[where][int(latency * BIN)] += 1
        self.after_store[int((now - parsed.stored_at) * BIN)] += 1
        if key not in self.ingress:
            self.ingress[key] = parsed.stored_at - parsed.sent_at
        self.receipts[key] += 1
        if latency > self.max_latency:
            self.max_latency = latency

    def ack(self, client: SocketIOClient, ack_id: int, packet: bytes, now: float) -> None:
        try:
            answer = json.loads(packet[packet.index(b"["):])[0]
            self.acks["ok" if answer["ok"] else answer["error"]["code"]] += 1
        except (ValueError, TypeError, KeyError, IndexError):
            self.acks["unreadable"] += 1


def _parse_event(packet: bytes, wall_minus_monotonic: float) -> Parsed:
    """A ``42[...]`` packet. Error events are named by their code; a benchmark message whose
    text the server changed is counted as unreadable, never guessed."""
    try:
        name, *args = json.loads(packet[2:])
        if name == "error":
            return Parsed(f"error:{args[0].get('code')}")
        if not packet.startswith(_MESSAGE):
            return Parsed(str(name))
        message = args[0]
        parts = str(message.get("text", "")).split(" ")
        if len(parts) != 4 or parts[0] != "fanout":
            return Parsed("message (not the benchmark's)")
        return Parsed("message", parts[1], decode(parts[2]), decode(parts[3]) / 1e6,
                      message["time"] / 1000 - wall_minus_monotonic)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return Parsed("unreadable")


_DIGITS = "2369"


def encode(number: int) -> str:
    """``number`` in base 4 written with the digits 2, 3, 6 and 9.

    The server masks profanity with glin-profanity's leetspeak detection, which reads numbers
    made of 0, 1, 4, 5, 7 and 8 as letters: a send time of 717.2 s arrived as ``***.2`` (and
    sequence number 85 would too). Texts of this shape written with these four digits were
    never masked (checked on 20,000 random ones and every number below 5,000).
    """
    text = ""
    while True:
        number, digit = divmod(number, 4)
        text = _DIGITS[digit] + text
        if not number:
            return text


def decode(text: str) -> int:
    number = 0
    for char in text:
        digit = _DIGITS.find(char)
        if digit < 0:
            raise ValueError(f"not a number of the benchmark: {text!r}")
        number = number * 4 + digit
    return number


def message_text(key: str, node: int, now: float) -> str:
    """What a sender sends: its key, its node and the send time in microseconds (parsed by
    :func:`_parse_event`)."""
    return f"fanout {key} {encode(node)} {encode(round(now * 1e6))}"


class Audience:
    """This process's clients (senders included) and what they went through."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.crowd = Crowd()
        self.nodes = [(str(host), int(port)) for host, port in spec["nodes"]]
        self.senders: list[SocketIOClient] = []
        self.clients: list[SocketIOClient] = []
        self._gate = asyncio.Semaphore(spec["concurrency"])

    async def connect(self, senders: list[dict[str, Any]], counts: list[int],
                      budget: float) -> dict[str, Any]:
        """Senders first (they must be in before anyone measures), then ``counts[i]`` anonymous
        clients for node i, alternating between the nodes so both fill at the same pace; none
        is started after ``budget`` seconds. The batch's joined line."""
        spec = self.spec
        started = time.monotonic()
        deadline = started + budget
        new_senders = [SocketIOClient(*self.nodes[s["node"]], spec["room"], self.crowd,
                                      token=s["token"], deflate=spec["deflate"], tag=s["node"])
                       for s in senders]
        order = [i for rank in range(max(counts, default=0))
                 for i, count in enumerate(counts) if rank < count]
        anonymous = [SocketIOClient(*self.nodes[i], spec["room"], self.crowd, deflate=spec["deflate"],
                                    tag=i) for i in order]
        failed = Counter[str]()

        async def one(client: SocketIOClient) -> None:
            async with self._gate:
                if time.monotonic() > deadline:
                    failed["not tried: the step's connect budget was spent"] += 1
                    return
                try:
                    await client.connect(spec["connect_timeout"])
                except (ClientError, OSError) as exc:
                    failed[_reason(exc)] += 1

        await asyncio.gather(*(one(c) for c in new_senders))
        await asyncio.gather(*(one(c) for c in anonymous))
        self.senders += new_senders
        batch = new_senders + anonymous
        self.clients += batch
        joined = [c.joined_at - c.started_at for c in batch if c.joined_at is not None]
        last = max((c.joined_at for c in batch if c.joined_at is not None), default=started)
        return {"joined": len(joined), "failed": dict(failed), "span": last - started,
                "join_seconds": sorted(joined)}

    def status(self, since: float, until: float) -> list[dict[str, int]]:
        """Per node: attempted, joined, joined before ``since`` (steady), of those still open at
        ``until`` and those that answered a ping in between, and dropped after joining."""
        rows = [Counter[str]() for _ in self.nodes]
        for c in self.clients:
            row = rows[c.tag]
            row["attempted"] += 1
            if c.joined_at is None:
                continue
            row["joined"] += 1
            if c.closed_at is not None and c.closed_at <= until:
                row["dropped"] += 1
            if c.joined_at < since:
                row["steady"] += 1
                if c.closed_at is None or c.closed_at > until:
                    row["open_at_end"] += 1
                if c.last_ping_at is not None and c.last_ping_at >= since:
                    row["pinged_in_window"] += 1
        return [dict(r) for r in rows]

    async def fan_out(self, send_from: float, window: tuple[float, float], stop_at: float) -> None:
        """Send and measure (see the module's docstring); the figures go to the spec's ``out``."""
        crowd = self.crowd
        crowd.window = window
        lagging = asyncio.ensure_future(sample_lag(stop_at))
        sent = await send_messages(self.spec, self.senders, send_from, window[1])
        lags = await lagging
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
        Path(self.spec["out"]).write_text(json.dumps({
            "nodes": self.status(window[0], window[1]),
            "latency": {k: dict(v) for k, v in crowd.latency.items()},
            "after_store": dict(crowd.after_store),
            "ingress": crowd.ingress,
            "max_latency": crowd.max_latency,
            "receipts": dict(crowd.receipts),
            "sent": sent,
            "acks": dict(crowd.acks),
            "events": dict(crowd.events),
            "loop_lag": lags,
        }))

    def close(self) -> None:
        for client in self.clients:
            client.abort()


def _reason(exc: BaseException) -> str:
    """A failure's kind, short enough to count (no addresses, ids or counts in it)."""
    text = str(exc)
    for cut in (":", " within"):
        text = text.split(cut, 1)[0]
    return f"{type(exc).__name__}: {text}"[:80]


async def send_messages(spec: dict[str, Any], senders: list[SocketIOClient], send_from: float,
                        until: float) -> list[tuple[str, float, int]]:
    """M messages a second from S senders in all processes, interleaved evenly: sender g sends
    its k-th message at send_from + g/M + k·S/M. A sender that lost its connection skips its
    turn (the parent counts only what was sent)."""
    total_rate, total_senders = spec["total_rate"], spec["total_senders"]
    plan: list[tuple[float, int, int]] = []
    for index, sender in enumerate(spec["senders"]):
        k = 0
        while (at := send_from + sender["id"] / total_rate + k * total_senders / total_rate) <= until:
            plan.append((at, index, k))
            k += 1
    plan.sort()
    sent: list[tuple[str, float, int]] = []
    for at, index, k in plan:
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        client, node = senders[index], spec["senders"][index]["node"]
        if not client.open:
            continue
        key = f"{encode(spec['senders'][index]['id'])}.{encode(k)}"
        now = time.monotonic()
        client.emit("send", {"room": spec["room"], "text": message_text(key, node, now)})
        sent.append((key, now, node))
    return sent


async def sample_lag(until: float) -> list[float]:
    """How late a 10 ms timer fires, until ``until``: how long the loop was busy elsewhere."""
    lags = []
    expected = time.monotonic() + LAG_TICK
    while expected < until:
        await asyncio.sleep(max(0.0, expected - time.monotonic()))
        now = time.monotonic()
        lags.append(now - expected)
        expected = now + LAG_TICK
    return lags


def reply(answer: dict[str, Any]) -> None:
    print(json.dumps(answer), flush=True)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="JSON written by bench/chat_fanout.py")
    args = parser.parse_args()
    spec = json.loads(Path(args.spec).read_text())
    audience = Audience(spec)
    try:
        reply(await audience.connect(spec["senders"], spec["clients"], spec["connect_budget"]))
        while line := await asyncio.to_thread(sys.stdin.readline):
            gc.collect()
            gc.freeze()  # tens of thousands of long-lived objects: no collector pauses
            command = json.loads(line)
            if "add" in command:
                reply(await audience.connect([], command["add"], command["budget"]))
            elif "status" in command:
                reply({"nodes": audience.status(command["status"], time.monotonic()),
                       "events": dict(audience.crowd.events)})
            elif "send" in command:
                send = command["send"]
                await audience.fan_out(send["send_from"], tuple(send["window"]), send["stop_at"])
                reply({"done": True})
            else:
                break
    finally:
        audience.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(uvloop.run(main()))
