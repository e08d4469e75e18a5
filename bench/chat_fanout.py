"""Chat: connected clients per node with a realistic heartbeat, and message fan-out latency
with N clients in one live room across two chat nodes at M messages a second; N pushed up in
steps until something breaks.

Set-up: two chat nodes (``python -m tributary serve chat``, each its own process on a loopback
port, sharing the benchmark's PostgreSQL and Redis and one ``TRIBUTARY_SECRET_KEY``), and
``--generators`` load generator processes (``bench/chat_clients.py`` on
``bench/socketio_client.py``: a minimal Engine.IO 4 / Socket.IO 5 WebSocket client, one asyncio
protocol per connection). The room is a live stream's (``live:NAME``, made in the catalog); the
senders are signed-in accounts made in the catalog, with access tokens issued from the shared
secret as the API would (``AccessTokens.of_secret(...).issue``); everyone else is anonymous, as
most of a live chat's audience is. N counts every client, senders included; half connect to
each node, and every generator holds an equal share of both halves.

Clients behave like ``socket.io-client`` in a browser with ``transports: ["websocket"]``:
WebSocket straight away, ``permessage-deflate`` offered (browsers always offer it, so aiohttp
compresses every frame it sends them, with a compressor per connection; ``--no-deflate`` leaves
it out), ``auth: {token}`` for senders, one ``join``, and every Engine.IO ping answered at once.
The nodes run the default heartbeat (``TRIBUTARY_CHAT__PING_INTERVAL`` 25 s,
``--ping-interval``). Clients join with at most ``--concurrency`` handshakes in flight per
generator.

**Fan-out steps** (``--levels``; fresh nodes and generators per step, so memory and CPU are the
step's own): N clients join, then ``--rate`` messages per second in all (M) come from M senders
at one message a second each (the default limit is 3 per 2 s per user and room, so nothing is
refused and the nodes keep their default settings), half on each node, interleaved evenly in
time. Each message's text carries its send time (``time.monotonic()``, system-wide on Linux,
taken just before the frame goes into the socket), so each client computes send → arrival
itself. After a 2 s warm-up the ``--window`` is measured: messages sent in it, at every client
that had joined before it; arrivals up to ``GRACE`` after the window count, later ones are lost.
Per step: delivery latency p50/p99/max over every (message, client) pair, split into clients on
the sender's node and on the other node (through Redis), and into send → stored (the message's
Redis timestamp) and stored → arrival; the fraction delivered; clients joined and still open at
the end; CPU of each node (and its kernel share), of the generators, of Redis (when it runs on
this machine) and of the whole machine; node CPU per delivery. Healthy: every client joined and
stayed, every message reached every client, p99 ≤ 100 ms, no send refused. The ramp stops at the
first unhealthy step, after one bisection step between it and the last healthy one.

**Hold stages** (``--hold-levels``; one pair of fresh nodes, clients added stage by stage, as an
audience grows): nobody sends; a stage's clients have 30 s + 20 ms per client to join (at
least 50 joins a second; later ones are not tried), then the nodes hold everyone for ``--hold``
seconds (longer than the ping interval, so every client must have been pinged and answered
inside it). Per stage: clients joined, still open, pinged in the hold, dropped; join
times; node CPU holding them (heartbeats only) and RSS per 1000 clients (RSS − the fresh node's
RSS, per 1000 of its clients). Healthy: every client joined, stayed and was pinged in the hold.
The stages stop at the first unhealthy one.

The load generators share the two cores with the nodes (and Redis), so they are not free: each
one's event-loop lag is sampled every 10 ms in a fan-out window, and a step that missed 100 ms
by no more than that lag (p99 − lag p99 ≤ 100 ms) is marked *generator-limited*: the clients,
not the server, may have set the figure. Their CPU per delivery is printed beside the nodes'.
An unhealthy fan-out step during which processes outside the benchmark took more than
``DISTURBED`` % of a core (the machine is shared) is run again, up to ``--retries`` times per
run (a healthy one stands: the disturbance only made it harder).

    .venv/bin/python -m bench.chat_fanout [--runs 2] [--rate 10] [--levels 250,500,...]
        [--hold-levels 2000,4000,...] [--no-deflate] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import resource
import secrets
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench import harness as h
from bench.chat_clients import BIN
from bench.edge_load import runqueue_wait
from catalog.access import Principal, Role
from catalog.access_tokens import AccessTokens
from catalog.accounts import Accounts
from catalog.db import open_pool
from catalog.live_streams import LiveStreamCatalog
from tributary.logs import configure_logging

P99_LIMIT = 0.100
LEVELS = (250, 500, 1000, 2000, 4000, 8000)
HOLD_LEVELS = (2000, 4000, 8000)
NODES = 2
SENDER_RATE = 1.0
"""Messages a second per sender: under the default limit of 3 per 2 s per user and room."""
SETTLE = 2.0
"""Seconds after the last join before anything is measured: the nodes' viewer counts settle."""
WARMUP = 2.0
GRACE = 3.0
"""Seconds after the window during which arrivals still count; later ones are lost."""
DISTURBED = 25.0
"""% of a core that processes other than the benchmark's took during a fan-out window (the
machine is shared) above which an unhealthy step is run again, up to ``--retries`` times per
run: with two cores and the nodes and generators competing already, a test suite next door
moves the figures."""
TOKEN_TTL = 3600
ANSWER_LIMIT = 64 * 2**20
"""Longest answer line of a generator: a batch's join times are ~20 bytes a client."""
FD_MARGIN = 200
STEP_KEYS = ("p50", "p99", "max", "local_p50", "local_p99", "remote_p50", "remote_p99",
             "ingress_p50", "ingress_p99", "fanout_p50", "fanout_p99", "delivered",
             "node_cpu_pct", "node_system_pct", "node_wait_pct", "us_per_delivery",
             "generator_cpu_pct", "generator_us_per_delivery", "generator_lag_p99",
             "redis_cpu_pct", "machine_cpu_pct", "others_cpu_pct", "node_rss_mib", "join_p99")
HOLD_KEYS = ("node_cpu_pct", "node_rss_mib", "rss_mib_per_1000", "join_p50", "join_p99",
             "join_rate", "joining_node_cpu_pct", "generator_cpu_pct", "machine_cpu_pct",
             "others_cpu_pct")


class ChatNodeProcess:
    """``python -m tributary serve chat`` on a port it picks (``TRIBUTARY_CHAT__PORT=0``); the
    port comes from its ``chat.started`` log line. JSON logs in a file."""

    def __init__(self, services: h.ServiceUrls, workdir: Path, secret: str,
                 settings: dict[str, str]) -> None:
        self.log_path = workdir / "chat.log"
        workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRIBUTARY_") and k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "TRIBUTARY_SECRET_KEY": secret,
            "TRIBUTARY_DATA_DIR": str(workdir / "data"),
            "TRIBUTARY_CHAT__HOST": h.LOOPBACK,
            "TRIBUTARY_CHAT__PORT": "0",
            "TRIBUTARY_LOG_FORMAT": "json",
            "TRIBUTARY_LOG_LEVEL": "INFO",
            **settings,
        })
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([h.PYTHON, "-m", "tributary", "serve", "chat"], cwd=h.REPO,
                                     env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)
        self.port = 0

    @property
    def http(self) -> str:
        return f"http://{h.LOOPBACK}:{self.port}"

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chat node exited ({self.proc.returncode}): {self.problems()[-5:]}")
            with contextlib.suppress(OSError):
                for line in self.log_path.read_text(errors="replace").splitlines():
                    with contextlib.suppress(ValueError):
                        entry = json.loads(line)
                        if entry.get("event") == "chat.started":
                            self.port = int(entry["http_port"])
                            return
            if time.monotonic() > deadline:
                raise TimeoutError(f"chat node not ready after {timeout} s: {self.problems()[-5:]}")
            await asyncio.sleep(0.1)

    async def gauges(self, http: aiohttp.ClientSession) -> dict[str, float]:
        """The node's own view: connections (all), and connections it dropped, by reason."""
        async with http.get(f"{self.http}/metrics") as resp:
            text = await resp.text()
        found: Counter[str] = Counter()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "tributary_chat_connections":
                    found["connections"] += sample.value
                elif sample.name == "tributary_chat_dropped_connections_total":
                    found[f"dropped_{sample.labels.get('reason')}"] += sample.value
        return dict(found)

    def cpu_seconds(self) -> float:
        return h.process_cpu_seconds(self.ps)

    def system_seconds(self) -> float:
        """Kernel time: mostly the TCP stack, one ``send`` per frame per client."""
        with contextlib.suppress(psutil.Error):
            return float(self.ps.cpu_times().system)
        return math.nan

    def rss_mib(self) -> float:
        with contextlib.suppress(psutil.Error):
            return self.ps.memory_info().rss / 2**20
        return math.nan

    def problems(self) -> list[str]:
        return h.log_problems(self.log_path)

    def stop(self) -> None:
        h.terminate(self.proc, grace=10)
        self._log.close()


class Generator:
    """One ``bench.chat_clients`` process: commands on its stdin, one JSON answer line each."""

    def __init__(self, proc: asyncio.subprocess.Process, spec: dict[str, Any]) -> None:
        self.proc = proc
        self.spec = spec
        self.ps = psutil.Process(proc.pid)

    @classmethod
    async def start(cls, spec: dict[str, Any], path: Path) -> Generator:
        path.write_text(json.dumps(spec))
        proc = await asyncio.create_subprocess_exec(
            h.PYTHON, "-m", "bench.chat_clients", "--spec", str(path), cwd=h.REPO,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=ANSWER_LIMIT)
        return cls(proc, spec)

    def command(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")

    async def answer(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"load generator exited ({await self.proc.wait()})")
        return dict(json.loads(line))

    def results(self) -> dict[str, Any]:
        return dict(json.loads(Path(self.spec["out"]).read_text()))

    def cpu_seconds(self) -> float:
        return h.process_cpu_seconds(self.ps)

    async def stop(self) -> None:
        """Ask it to drop its connections and exit; end it if it does not."""
        if self.proc.returncode is None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.write(b"{}\n")
                self.proc.stdin.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 10)
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def redis_process(url: str) -> psutil.Process | None:
    """The Redis server behind ``url`` when it runs on this machine (embedded or local): its
    CPU shows whether the one Redis both nodes share is what saturates."""
    parsed = urlsplit(url)
    unix = parsed.path if parsed.scheme == "unix" else None
    port = None if unix else (parsed.port or 6379)
    for proc in psutil.process_iter(["name"]):
        if "redis" not in (proc.info["name"] or ""):
            continue
        with contextlib.suppress(psutil.Error):
            for conn in proc.net_connections(kind="unix" if unix else "inet"):
                if (unix and conn.laddr == unix) or (
                        not unix and conn.status == psutil.CONN_LISTEN and conn.laddr.port == port):
                    return proc
    return None


@dataclass(frozen=True)
class Sample:
    """CPU counters at one instant; ``*_wait``: time runnable but without a core (the machine
    is shared: what other processes took from the nodes and the generators)."""

    at: float
    nodes: tuple[float, ...]
    nodes_system: tuple[float, ...]
    nodes_wait: tuple[float, ...]
    generators: float
    generators_wait: float
    redis: float
    me: float
    machine: float

    @classmethod
    def take(cls, nodes: list[ChatNodeProcess], generators: list[Generator],
             redis: psutil.Process | None) -> Sample:
        return cls(time.monotonic(), tuple(n.cpu_seconds() for n in nodes),
                   tuple(n.system_seconds() for n in nodes), tuple(runqueue_wait([n.ps]) for n in nodes),
                   sum(g.cpu_seconds() for g in generators), runqueue_wait([g.ps for g in generators]),
                   h.process_cpu_seconds(redis) if redis is not None else math.nan,
                   h.process_cpu_seconds(psutil.Process()), h.machine_busy_seconds())

    def pct(self, later: Sample) -> dict[str, Any]:
        elapsed = later.at - self.at
        return {
            "nodes": [100 * (b - a) / elapsed for a, b in zip(self.nodes, later.nodes)],
            "nodes_system": [100 * (b - a) / elapsed
                             for a, b in zip(self.nodes_system, later.nodes_system)],
            "nodes_wait": [100 * (b - a) / elapsed for a, b in zip(self.nodes_wait, later.nodes_wait)],
            "generators": 100 * (later.generators - self.generators) / elapsed,
            "generators_wait": 100 * (later.generators_wait - self.generators_wait) / elapsed,
            "redis": 100 * (later.redis - self.redis) / elapsed,
            "machine": 100 * (later.machine - self.machine) / elapsed,
            "others": 100 * max(0.0, (later.machine - self.machine) - sum(
                b - a for a, b in zip(self.nodes, later.nodes)) - (later.generators - self.generators)
                - (0.0 if math.isnan(self.redis) else later.redis - self.redis)
                - (later.me - self.me)) / elapsed,
        }


# ------------------------------------------------------------------------------------ set-up


@dataclass(frozen=True)
class Cast:
    """The room and the signed-in senders (id, token), made once per run in the catalog."""

    room: str
    senders: tuple[tuple[int, str], ...]


async def make_cast(pool: asyncpg.Pool, secret: str, senders: int) -> Cast:
    tag = uuid.uuid4().hex[:8]
    stream = await LiveStreamCatalog(pool).create(f"chat-{tag}")
    tokens = AccessTokens.of_secret(secret.encode(), TOKEN_TTL)
    accounts = Accounts(pool)
    made = []
    for i in range(senders):
        user, _ = await accounts.create(
            email=f"sender{i}-{tag}@example.org", username=f"s{i}_{tag}",
            display_name=f"Sender {i}", password_hash="!unused", role=Role.VIEWER)
        made.append((user.id, tokens.issue(Principal(user.id, Role.VIEWER)).token))
    return Cast(f"live:{stream.stream.name}", tuple(made))


def raise_fd_limit() -> int:
    """Every connection is a descriptor in a generator and in a node; children inherit this."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def histogram_percentile(hist: Counter[int], q: float) -> float:
    """The ``q`` percentile (0..100) of latencies binned at 1/BIN s: the bin's upper edge."""
    total = sum(hist.values())
    if not total:
        return math.nan
    rank = max(1, math.ceil(total * q / 100))
    seen = 0
    for bin_index in sorted(hist):
        seen += hist[bin_index]
        if seen >= rank:
            return (bin_index + 1) / BIN
    return math.nan


# ------------------------------------------------------------------------------------ a cluster


class Cluster:
    """Two fresh chat nodes and the generators of one step (or of the hold stages)."""

    def __init__(self, env: h.BenchEnv, args: argparse.Namespace, workdir: Path) -> None:
        assert env.services is not None
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.args = args
        settings = {"TRIBUTARY_CHAT__PING_INTERVAL": str(args.ping_interval)}
        self.nodes = [ChatNodeProcess(env.services, workdir / f"node{i}", args.secret, settings)
                      for i in range(NODES)]
        self.generators: list[Generator] = []
        self.base_rss: list[float] = []

    async def start(self, senders: list[dict[str, Any]], clients: int, budget: float,
                    cast: Cast) -> list[dict[str, Any]]:
        """Nodes up, then the generators with their share of ``clients`` and of the senders;
        the generators' first answers (who joined)."""
        await asyncio.gather(*(n.wait_ready() for n in self.nodes))
        await asyncio.sleep(0.5)
        self.base_rss = [n.rss_mib() for n in self.nodes]
        splits = [shares(n, self.args.generators) for n in shares(clients - len(senders), NODES)]
        for i in range(self.args.generators):
            spec = {"nodes": [[h.LOOPBACK, n.port] for n in self.nodes], "room": cast.room,
                    "clients": [split[i] for split in splits],
                    "senders": senders[i::self.args.generators], "total_senders": len(senders),
                    "total_rate": self.args.rate, "deflate": self.args.deflate,
                    "concurrency": self.args.concurrency,
                    "connect_timeout": self.args.connect_timeout, "connect_budget": budget,
                    "out": str(self.workdir / f"gen{i}.out.json")}
            self.generators.append(await Generator.start(spec, self.workdir / f"gen{i}.spec.json"))
        return await self.answers(budget + self.args.connect_timeout + 15)

    async def answers(self, timeout: float) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(g.answer(timeout) for g in self.generators)))

    def sample(self, redis: psutil.Process | None) -> Sample:
        return Sample.take(self.nodes, self.generators, redis)

    async def gauges(self, http: aiohttp.ClientSession) -> list[dict[str, float]]:
        return [await n.gauges(http) for n in self.nodes]

    async def stop(self) -> list[list[str]]:
        """Everything stopped; what each node logged above info."""
        for g in self.generators:
            await g.stop()
        for n in self.nodes:
            n.stop()
        return [n.problems() for n in self.nodes]


def join_figures(batches: list[dict[str, Any]], clients: int) -> dict[str, Any]:
    """Joins of one batch over the generators: failures, join time, how fast they came in."""
    joined = sum(b["joined"] for b in batches)
    times = sorted(x for b in batches for x in b["join_seconds"])
    span = max(b["span"] for b in batches)
    failures: Counter[str] = Counter()
    for b in batches:
        failures.update(b["failed"])
    return {"joined_batch": joined, "failures": dict(failures),
            "join_p50": h.percentile(times, 50), "join_p99": h.percentile(times, 99),
            "join_rate": joined / span if span > 0 else math.nan,
            "join_missing": clients - joined}


def node_rows(statuses: list[list[dict[str, int]]]) -> list[Counter[str]]:
    rows = [Counter[str]() for _ in range(NODES)]
    for status in statuses:
        for i, row in enumerate(status):
            rows[i].update(row)
    return rows


# ------------------------------------------------------------------------------------ fan-out


async def fan_out_step(clients: int, cast: Cast, env: h.BenchEnv, redis: psutil.Process | None,
                       args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Fresh nodes, ``clients`` joined, then M messages a second, one window measured."""
    assert env.http is not None
    cluster = Cluster(env, args, workdir)
    senders = [{"id": g, "node": g % NODES, "token": token} for g, (_, token) in enumerate(cast.senders)]
    try:
        batches = await cluster.start(senders, clients, 30 + clients / 50, cast)
        await asyncio.sleep(SETTLE)
        send_from = time.monotonic() + 0.5
        window = (send_from + WARMUP, send_from + WARMUP + args.window)
        stop_at = window[1] + GRACE
        for g in cluster.generators:
            g.command({"send": {"send_from": send_from, "window": window, "stop_at": stop_at}})
        await asyncio.sleep(window[0] - time.monotonic())
        first = cluster.sample(redis)
        await asyncio.sleep(window[1] - time.monotonic())
        last = cluster.sample(redis)
        rss = [n.rss_mib() for n in cluster.nodes]
        gauges = await cluster.gauges(env.http)
        await cluster.answers(stop_at - time.monotonic() + 30)
        outputs = [g.results() for g in cluster.generators]
    finally:
        problems = await cluster.stop()
    return fan_out_figures(clients, outputs, batches, window, first.pct(last), rss, gauges,
                           problems, args)


def fan_out_figures(clients: int, outputs: list[dict[str, Any]], batches: list[dict[str, Any]],
                    window: tuple[float, float], cpu: dict[str, Any], rss: list[float],
                    gauges: list[dict[str, float]], problems: list[list[str]],
                    args: argparse.Namespace) -> dict[str, Any]:
    nodes = node_rows([out["nodes"] for out in outputs])
    hist = {"local": Counter[int](), "remote": Counter[int]()}
    after_store: Counter[int] = Counter()
    ingress: dict[str, float] = {}
    receipts: Counter[str] = Counter()
    acks: Counter[str] = Counter()
    events: Counter[str] = Counter()
    for out in outputs:
        for where, bins in out["latency"].items():
            hist[where].update({int(k): v for k, v in bins.items()})
        after_store.update({int(k): v for k, v in out["after_store"].items()})
        ingress.update(out["ingress"])
        receipts.update(out["receipts"])
        acks.update(out["acks"])
        events.update(out["events"])
    both = hist["local"] + hist["remote"]
    sent = [(key, at) for out in outputs for key, at, _ in out["sent"] if window[0] <= at <= window[1]]
    steady = sum(n["steady"] for n in nodes)
    expected = len(sent) * steady
    delivered = sum(min(receipts[key], steady) for key, _ in sent)
    lags = [x for out in outputs for x in out["loop_lag"]]
    lag_p99 = h.percentile(lags, 99)
    p99 = histogram_percentile(both, 99)
    joins = join_figures(batches, clients)
    per_node_deliveries = [len(sent) * n["steady"] for n in nodes]
    reasons = []
    if joins["join_missing"]:
        reasons.append(f"{joins['join_missing']} of {clients} clients did not join"
                       f" ({', '.join(f'{k} ×{v}' for k, v in Counter(joins['failures']).most_common(3))})")
    dropped = sum(n["dropped"] for n in nodes)
    if dropped:
        reasons.append(f"{dropped} clients dropped after joining")
    if expected and delivered < expected:
        reasons.append(f"{100 * delivered / expected:.3f}% delivered within {GRACE:g} s")
    if not sent:
        reasons.append("no message was sent in the window")
    refused = {k: v for k, v in acks.items() if k != "ok"}
    if refused:
        reasons.append(f"sends refused: {refused}")
    if not p99 <= P99_LIMIT:
        reasons.append(f"p99 {h.ms(p99)} > {P99_LIMIT * 1000:.0f} ms")
    return {
        "clients": clients,
        **joins,
        "nodes": [dict(n) for n in nodes],
        "server_connections": [g.get("connections", math.nan) for g in gauges],
        "messages": len(sent),
        "deliveries": sum(both.values()),
        "delivered": delivered / expected if expected else math.nan,
        "p50": histogram_percentile(both, 50),
        "p99": p99,
        "max": max(out["max_latency"] for out in outputs),
        "local_p50": histogram_percentile(hist["local"], 50),
        "local_p99": histogram_percentile(hist["local"], 99),
        "remote_p50": histogram_percentile(hist["remote"], 50),
        "remote_p99": histogram_percentile(hist["remote"], 99),
        "ingress_p50": h.percentile([ingress[k] for k, _ in sent if k in ingress], 50),
        "ingress_p99": h.percentile([ingress[k] for k, _ in sent if k in ingress], 99),
        "fanout_p50": histogram_percentile(after_store, 50),
        "fanout_p99": histogram_percentile(after_store, 99),
        "acks": dict(acks),
        "events": dict(events),
        "node_cpu_pct_each": cpu["nodes"],
        "node_cpu_pct": max(cpu["nodes"]),
        "node_system_pct_each": cpu["nodes_system"],
        "node_system_pct": max(cpu["nodes_system"]),
        "node_wait_pct_each": cpu["nodes_wait"],
        "node_wait_pct": max(cpu["nodes_wait"]),
        "us_per_delivery": max((1e6 * (pct / 100) * args.window / d
                                for pct, d in zip(cpu["nodes"], per_node_deliveries) if d),
                               default=math.nan),
        "generator_cpu_pct": cpu["generators"],
        "generator_wait_pct": cpu["generators_wait"],
        "generator_us_per_delivery": (1e6 * (cpu["generators"] / 100) * args.window / sum(both.values())
                                      if both else math.nan),
        "generator_lag_p99": lag_p99,
        "generator_limited": p99 > P99_LIMIT and p99 - lag_p99 <= P99_LIMIT,
        "redis_cpu_pct": cpu["redis"],
        "machine_cpu_pct": cpu["machine"],
        "others_cpu_pct": cpu["others"],
        "disturbed": cpu["others"] > DISTURBED,
        "node_rss_mib_each": rss,
        "node_rss_mib": max(rss),
        "healthy": not reasons,
        "reasons": reasons,
        "problems": [p[:5] for p in problems],
    }


def describe(s: dict[str, Any]) -> str:
    verdict = "ok" if s["healthy"] else "BROKEN: " + "; ".join(s["reasons"])
    if s["generator_limited"]:
        verdict += " (generator-limited)"
    if s["disturbed"]:
        verdict += " (disturbed)"
    each = ", ".join
    return (f"  {s['clients']:>6} clients: delivery p50 {h.ms(s['p50'])} p99 {h.ms(s['p99'])}"
            f" max {h.ms(s['max'])} (same node p99 {h.ms(s['local_p99'])}, other node p99"
            f" {h.ms(s['remote_p99'])}; send → stored p50 {h.ms(s['ingress_p50'])} p99"
            f" {h.ms(s['ingress_p99'])}, stored → arrival p50 {h.ms(s['fanout_p50'])} p99"
            f" {h.ms(s['fanout_p99'])}); {s['messages']} messages, {100 * s['delivered']:.3f}%"
            f" delivered\n          joined {s['joined_batch']} (join p50 {h.ms(s['join_p50'])} p99"
            f" {h.ms(s['join_p99'])}, {s['join_rate']:.0f}/s), open at the end"
            f" {each(str(n.get('open_at_end', 0)) for n in s['nodes'])}; server gauge"
            f" {each(f'{c:.0f}' for c in s['server_connections'])}\n"
            f"          CPU: nodes {each(f'{c:.0f}%' for c in s['node_cpu_pct_each'])} (kernel"
            f" {each(f'{c:.0f}%' for c in s['node_system_pct_each'])}; waited for a core"
            f" {each(f'{c:.0f}%' for c in s['node_wait_pct_each'])}), {s['us_per_delivery']:.1f} µs"
            f" per delivery; generators {s['generator_cpu_pct']:.0f}% (+{s['generator_wait_pct']:.0f}%"
            f" waiting; {s['generator_us_per_delivery']:.1f} µs per delivery; loop lag p99"
            f" {h.ms(s['generator_lag_p99'])}); redis {s['redis_cpu_pct']:.0f}%; machine"
            f" {s['machine_cpu_pct']:.0f}% (others {s['others_cpu_pct']:.0f}%); node RSS"
            f" {each(f'{r:.0f}' for r in s['node_rss_mib_each'])} MiB — {verdict}")


def next_level(steps: dict[int, dict[str, Any]], levels: list[int]) -> int | None:
    """The next level while healthy; then one bisection step between the last healthy and the
    first unhealthy count (when they are far enough apart to tell)."""
    failed = [n for n, r in steps.items() if not r["healthy"]]
    if not failed:
        return next((n for n in levels if n not in steps), None)
    low = max((n for n, r in steps.items() if r["healthy"] and n < min(failed)), default=0)
    mid = (low + min(failed)) // 2
    if low == 0 or mid in steps or any(n not in levels for n in steps) or mid - low < low // 8:
        return None
    return mid


async def fan_out_ramp(cast: Cast, env: h.BenchEnv, redis: psutil.Process | None,
                       args: argparse.Namespace) -> dict[str, Any]:
    steps: dict[int, dict[str, Any]] = {}
    retries = args.retries
    level = next_level(steps, args.levels)
    while level is not None:
        r = await fan_out_step(level, cast, env, redis, args, env.tmp / f"step{level}-{retries}")
        print(describe(r), flush=True)
        print_problems(r["problems"])
        if r["disturbed"] and not r["healthy"] and retries > 0:
            retries -= 1
            print(f"  disturbed: other processes took {r['others_cpu_pct']:.0f}% of a core;"
                  f" again ({retries} retries left in this run)", flush=True)
            continue
        steps[level] = r
        level = next_level(steps, args.levels)
    failed = [n for n, r in steps.items() if not r["healthy"]]
    first_failed = min(failed, default=None)
    best = max((n for n, r in steps.items() if r["healthy"] and (first_failed is None or n < first_failed)),
               default=0)
    broke = steps[first_failed] if first_failed is not None else None
    return {
        "steps": [steps[n] for n in sorted(steps)],
        "max_clients": best,
        "max_clients_lower_bound": broke is None or broke["generator_limited"],
        "first_unhealthy": first_failed,
        "first_unhealthy_reasons": broke["reasons"] if broke else [],
        **{f"at_max_{k}": steps[best][k] if best else math.nan for k in STEP_KEYS},
    }


def print_problems(problems: list[list[str]]) -> None:
    for i, lines in enumerate(problems):
        for line in lines:
            print(f"    ! node {i}: {line[:300]}")


# ------------------------------------------------------------------------------------ holding


async def hold_stages(cast: Cast, env: h.BenchEnv, redis: psutil.Process | None,
                      args: argparse.Namespace) -> dict[str, Any]:
    """One pair of fresh nodes; clients added stage by stage and held through a ping interval."""
    assert env.http is not None
    cluster = Cluster(env, args, env.tmp / "hold")
    stages: list[dict[str, Any]] = []
    try:
        await cluster.start([], 0, 30, cast)
        held = 0
        for level in args.hold_levels:
            budget = 30 + (level - held) / 50
            joining = cluster.sample(redis)
            for i, g in enumerate(cluster.generators):
                g.command({"add": [split[i] for split in (shares(n, args.generators) for n in
                                                          shares(level - held, NODES))],
                           "budget": budget})
            batches = await cluster.answers(budget + args.connect_timeout + 15)
            joined = joining.pct(cluster.sample(redis))
            await asyncio.sleep(SETTLE)
            since = time.monotonic()
            first = cluster.sample(redis)
            await asyncio.sleep(args.hold)
            last = cluster.sample(redis)
            for g in cluster.generators:
                g.command({"status": since})
            statuses = await cluster.answers(30)
            rss = [n.rss_mib() for n in cluster.nodes]
            stage = hold_figures(level, level - held, batches, statuses, joined, first.pct(last),
                                 rss, cluster.base_rss, await cluster.gauges(env.http))
            print(describe_hold(stage), flush=True)
            stages.append(stage)
            held = level
            if not stage["healthy"]:
                break
    finally:
        problems = await cluster.stop()
    print_problems([p[:5] for p in problems])
    failed = next((s for s in stages if not s["healthy"]), None)
    best = max((s["clients"] for s in stages if s["healthy"]), default=0)
    at = next((s for s in stages if s["clients"] == best), {})
    return {
        "stages": stages,
        "max_held": best,
        "max_held_lower_bound": failed is None,
        "first_unheld": failed["clients"] if failed else None,
        "first_unheld_reasons": failed["reasons"] if failed else [],
        **{f"held_{k}": at.get(k, math.nan) for k in HOLD_KEYS},
        "problems": [p[:5] for p in problems],
    }


def hold_figures(clients: int, added: int, batches: list[dict[str, Any]],
                 statuses: list[dict[str, Any]], joining: dict[str, Any], cpu: dict[str, Any],
                 rss: list[float], base_rss: list[float],
                 gauges: list[dict[str, float]]) -> dict[str, Any]:
    nodes = node_rows([s["nodes"] for s in statuses])
    joins = join_figures(batches, added)
    joined, open_, pinged = (sum(n[k] for n in nodes) for k in ("joined", "open_at_end",
                                                                 "pinged_in_window"))
    dropped = sum(n["dropped"] for n in nodes)
    reasons = []
    if joined < clients:
        reasons.append(f"{clients - joined} of {clients} clients did not join"
                       f" ({', '.join(f'{k} ×{v}' for k, v in Counter(joins['failures']).most_common(3))})")
    if dropped:
        reasons.append(f"{dropped} clients dropped after joining")
    if pinged < open_:
        reasons.append(f"{open_ - pinged} clients not pinged during the hold (heartbeats late)")
    viewers = sum(s["events"].get("viewers", 0) for s in statuses)
    per_node = [n["joined"] - n["dropped"] for n in nodes]
    return {
        "clients": clients,
        **joins,
        "nodes": [dict(n) for n in nodes],
        "joined": joined,
        "open": open_,
        "pinged": pinged,
        "dropped": dropped,
        "viewers_events": viewers,
        "server_connections": [g.get("connections", math.nan) for g in gauges],
        "server_dropped": [{k: v for k, v in g.items() if k.startswith("dropped")} for g in gauges],
        "node_cpu_pct_each": cpu["nodes"],
        "node_cpu_pct": max(cpu["nodes"]),
        "joining_node_cpu_pct_each": joining["nodes"],
        "joining_node_cpu_pct": max(joining["nodes"]),
        "generator_cpu_pct": cpu["generators"],
        "machine_cpu_pct": cpu["machine"],
        "others_cpu_pct": cpu["others"],
        "node_rss_mib_each": rss,
        "node_rss_mib": max(rss),
        "rss_mib_per_1000": max(((r - b) / (c / 1000) for r, b, c in zip(rss, base_rss, per_node) if c),
                                default=math.nan),
        "healthy": not reasons,
        "reasons": reasons,
    }


def describe_hold(s: dict[str, Any]) -> str:
    verdict = "ok" if s["healthy"] else "BROKEN: " + "; ".join(s["reasons"])
    each = ", ".join
    return (f"  hold {s['clients']:>6} clients: {s['joined']} joined (this stage: join p50"
            f" {h.ms(s['join_p50'])} p99 {h.ms(s['join_p99'])}, {s['join_rate']:.0f}/s, node CPU"
            f" meanwhile {each(f'{c:.0f}%' for c in s['joining_node_cpu_pct_each'])}; viewer counts"
            f" received so far {s['viewers_events']}), {s['open']}"
            f" open and {s['pinged']} answered a ping in the hold, {s['dropped']} dropped; server gauge"
            f" {each(f'{c:.0f}' for c in s['server_connections'])}; CPU holding them: nodes"
            f" {each(f'{c:.1f}%' for c in s['node_cpu_pct_each'])}, generators"
            f" {s['generator_cpu_pct']:.1f}%, machine {s['machine_cpu_pct']:.0f}% (others"
            f" {s['others_cpu_pct']:.0f}%); node RSS {each(f'{r:.0f}' for r in s['node_rss_mib_each'])}"
            f" MiB ({s['rss_mib_per_1000']:.0f} MiB per 1000 clients) — {verdict}")


# ------------------------------------------------------------------------------------ runs


async def one_run(args: argparse.Namespace) -> dict[str, Any]:
    async with h.BenchEnv("chat-fanout") as env:
        assert env.services is not None
        pool = await open_pool(env.services.database_url, min_size=1, max_size=2)
        try:
            cast = await make_cast(pool, args.secret, args.senders)
        finally:
            await pool.close()
        redis = redis_process(env.services.redis_url)
        fan_out = await fan_out_ramp(cast, env, redis, args)
        hold = await hold_stages(cast, env, redis, args) if args.hold_levels else {}
    return {"fan_out": fan_out, "hold": hold}


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs: the headline figures and, per client count, the runs that measured it."""
    fan = [r["fan_out"] for r in runs]
    held = [r["hold"] for r in runs if r["hold"]]
    figures: dict[str, Any] = {
        "max_clients": h.spread([r["max_clients"] for r in fan]),
        "max_clients_lower_bound": any(r["max_clients_lower_bound"] for r in fan),
        "first_unhealthy": [r["first_unhealthy"] for r in fan],
        **{f"at_max_{k}": h.spread([r[f"at_max_{k}"] for r in fan]) for k in STEP_KEYS},
    }
    if held:
        figures |= {
            "max_held": h.spread([r["max_held"] for r in held]),
            "max_held_lower_bound": any(r["max_held_lower_bound"] for r in held),
            "first_unheld": [r["first_unheld"] for r in held],
            **{f"held_{k}": h.spread([r[f"held_{k}"] for r in held]) for k in HOLD_KEYS},
        }
    return {"figures": figures, "steps": per_count([r["steps"] for r in fan], STEP_KEYS),
            "stages": per_count([r["stages"] for r in held], HOLD_KEYS)}


def per_count(runs: list[list[dict[str, Any]]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per client count, the medians over the runs that measured it (the bisection step
    and the last stage differ from run to run)."""
    per_run = [{s["clients"]: s for s in steps} for steps in runs]
    rows = []
    for n in sorted(set().union(*per_run)):
        measured = [p[n] for p in per_run if n in p]
        rows.append({"clients": n, "runs": len(measured),
                     **{k: h.spread([s[k] for s in measured]) for k in keys},
                     "healthy_runs": sum(s["healthy"] for s in measured),
                     "generator_limited_runs": sum(s.get("generator_limited", False) for s in measured),
                     "disturbed_runs": sum(s.get("disturbed", False) for s in measured),
                     "reasons": sorted({reason for s in measured for reason in s["reasons"]})})
    return rows


def capacity_text(s: dict[str, float], lower_bound: bool) -> str:
    return ("≥ " if lower_bound else "") + h.fmt_spread(s)


def _notes(row: dict[str, Any]) -> str:
    notes = ""
    if row["generator_limited_runs"]:
        notes += f", {row['generator_limited_runs']} generator-limited"
    if row["disturbed_runs"]:
        notes += f", {row['disturbed_runs']} disturbed"
    return notes


def step_table(steps: list[dict[str, Any]]) -> list[str]:
    """Markdown rows, one per client count (medians over the runs that measured it), for the
    benchmark's output and RESULTS.md alike."""
    lines = [
        "| clients (both nodes) | delivery p50 | p99 | p99 same node / other node | p99 send →"
        " stored / stored → arrival | delivered | busier node CPU (kernel) | µs node CPU per"
        " delivery | generators CPU | generator µs per delivery | generator lag p99 | Redis CPU |"
        " machine CPU (others) | node RSS | join p99 | healthy runs |",
        "| --- " * 16 + "|",
    ]
    for s in steps:
        m = {k: s[k]["median"] for k in STEP_KEYS}
        lines.append(
            f"| {s['clients']} | {h.ms(m['p50'])} | {h.ms(m['p99'])} | {h.ms(m['local_p99'])} /"
            f" {h.ms(m['remote_p99'])} | {h.ms(m['ingress_p99'])} / {h.ms(m['fanout_p99'])} |"
            f" {100 * m['delivered']:.2f}% | {m['node_cpu_pct']:.0f}% ({m['node_system_pct']:.0f}%) |"
            f" {m['us_per_delivery']:.1f} | {m['generator_cpu_pct']:.0f}% |"
            f" {m['generator_us_per_delivery']:.1f} | {h.ms(m['generator_lag_p99'])} |"
            f" {m['redis_cpu_pct']:.0f}% | {m['machine_cpu_pct']:.0f}% ({m['others_cpu_pct']:.0f}%) |"
            f" {m['node_rss_mib']:.0f} MiB | {h.ms(m['join_p99'])} | {s['healthy_runs']}/{s['runs']}"
            f"{_notes(s)} |")
    return lines


def hold_table(stages: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| clients held (both nodes) | node CPU, heartbeats only (busier node) | node RSS |"
        " MiB per 1000 clients | join p50 / p99 (stage) | joins/s | busier node CPU while joining |"
        " generators CPU | machine CPU (others) | healthy runs |",
        "| --- " * 10 + "|",
    ]
    for s in stages:
        m = {k: s[k]["median"] for k in HOLD_KEYS}
        lines.append(
            f"| {s['clients']} | {m['node_cpu_pct']:.1f}% | {m['node_rss_mib']:.0f} MiB |"
            f" {m['rss_mib_per_1000']:.0f} | {h.ms(m['join_p50'])} / {h.ms(m['join_p99'])} |"
            f" {m['join_rate']:.0f} | {m['joining_node_cpu_pct']:.0f}% | {m['generator_cpu_pct']:.1f}% |"
            f" {m['machine_cpu_pct']:.0f}%"
            f" ({m['others_cpu_pct']:.0f}%) | {s['healthy_runs']}/{s['runs']}{_notes(s)} |")
    return lines


def _levels(text: str) -> list[int]:
    return sorted(int(x) for x in text.split(",") if x.strip())


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="fresh services per run")
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second in all (M)")
    parser.add_argument("--levels", type=_levels, default=list(LEVELS),
                        help="fan-out client counts (N, both nodes, senders included)")
    parser.add_argument("--window", type=float, default=20.0, help="measured seconds of sending")
    parser.add_argument("--hold-levels", type=_levels, default=list(HOLD_LEVELS),
                        help="client counts to hold, stage by stage ('' to skip)")
    parser.add_argument("--hold", type=float, default=0.0,
                        help="seconds each hold stage is held (default: the ping interval + 5 s)")
    parser.add_argument("--ping-interval", type=float, default=25.0,
                        help="the nodes' Engine.IO ping interval (TRIBUTARY_CHAT__PING_INTERVAL)")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--concurrency", type=int, default=10,
                        help="handshakes in flight per generator while connecting (a join holds up"
                        " to 4 of a node's 100 pooled Redis connections at once: see README)")
    parser.add_argument("--connect-timeout", type=float, default=20.0,
                        help="seconds one client may take from TCP connect to joined")
    parser.add_argument("--retries", type=int, default=2,
                        help="unhealthy fan-out steps run again, per run, when other work took the cores")
    parser.add_argument("--no-deflate", dest="deflate", action="store_false",
                        help="do not offer permessage-deflate (browsers do)")
    parser.add_argument("--json", help="write the figures here (for run_all)")
    args = parser.parse_args()
    args.senders = max(1, math.ceil(args.rate / SENDER_RATE))
    args.rate = args.senders * SENDER_RATE
    args.hold = args.hold or args.ping_interval + 5
    args.secret = secrets.token_urlsafe(32)
    configure_logging("WARNING", "console")  # not every migration and embedded server start
    fd_limit = raise_fd_limit()
    most = max([*args.levels, *args.hold_levels]) / min(NODES, args.generators)
    if most > fd_limit - FD_MARGIN:
        parser.error(f"{most * min(NODES, args.generators):.0f} clients need ~{most:.0f} descriptors"
                     f" per process; the limit here is {fd_limit}")
    m = h.machine()
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    h.print_header("chat: clients per node and fan-out latency over two chat nodes", m)
    print(f"{NODES} chat nodes, {args.generators} generator processes; {args.rate:g} messages/s from"
          f" {args.senders} signed-in senders; ping interval {args.ping_interval:g} s;"
          f" permessage-deflate {'offered' if args.deflate else 'not offered'}; {args.window:g} s"
          f" fan-out window, {args.hold:g} s holds; fd limit {fd_limit}", flush=True)
    runs = []
    for run in range(args.runs):
        load = h.announce_run(run, args.runs)
        r = await one_run(args)
        r["load_average_before"] = load
        runs.append(r)
        f, hd = r["fan_out"], r["hold"]
        print(f"  fan-out: largest healthy {'≥ ' if f['max_clients_lower_bound'] else ''}"
              f"{f['max_clients']} clients; first unhealthy {f['first_unhealthy']}"
              f" ({'; '.join(f['first_unhealthy_reasons'])})", flush=True)
        broke = next((s for s in f["steps"] if s["clients"] == f["first_unhealthy"]), None)
        if broke is not None:
            print(f"  what set that limit: at {broke['clients']} clients the busier node used"
                  f" {broke['node_cpu_pct']:.0f}% of a core, the generators"
                  f" {broke['generator_cpu_pct']:.0f}% (loop lag p99 {h.ms(broke['generator_lag_p99'])}),"
                  f" other processes {broke['others_cpu_pct']:.0f}%: "
                  + ("the generators may have (generator-limited)" if broke["generator_limited"]
                     else "the chat nodes, not the load generators"), flush=True)
        if hd:
            print(f"  held: {'≥ ' if hd['max_held_lower_bound'] else ''}{hd['max_held']} clients;"
                  f" first not held {hd['first_unheld']} ({'; '.join(hd['first_unheld_reasons'])})",
                  flush=True)
    result = aggregate(runs)
    f = result["figures"]
    print(h.machine().line())
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(step_table(result["steps"])))
    print(f"fan-out: largest client count (both nodes) with every client joined and staying, every"
          f" message delivered and p99 ≤ {P99_LIMIT * 1000:.0f} ms at {args.rate:g} messages/s:"
          f" {capacity_text(f['max_clients'], f['max_clients_lower_bound'])}; first unhealthy"
          f" {f['first_unhealthy']}")
    if result["stages"]:
        print("\n".join(hold_table(result["stages"])))
        print(f"held (joined, connected and pinged through {args.hold:g} s, nobody sending):"
              f" {capacity_text(f['max_held'], f['max_held_lower_bound'])} clients; first not held"
              f" {f['first_unheld']}")
    h.write_json(args.json, {
        "machine": m, "started": started, "rate": args.rate, "senders": args.senders,
        "ping_interval": args.ping_interval, "window": args.window, "hold": args.hold,
        "generators": args.generators, "deflate": args.deflate, "levels": args.levels,
        "hold_levels": args.hold_levels, **result, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
