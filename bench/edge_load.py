"""Edge under LL-HLS load: LL-HLS viewers one edge core serves within 100 ms, beside nginx.

How many viewers of one live stream one edge process on one core serves with every part
delivered within 100 ms (p99) of its publication at the origin, how many origin fetches each
part costs, and the same workload through nginx as the peer: requests per second and p99 as
ratios (Tributary / nginx).

Set-up: an origin node (ladder off: the source rendition only) publishes the benchmark source,
copied in real time by ffmpeg; the edge (``python -m tributary serve edge``) and nginx
(``bench/nginx_peer.py``: proxy_cache + proxy_cache_lock) both proxy that origin, each pinned
to the last core with ``taskset``. This process, the origin, the publisher and the load
generators are pinned to the other cores, so the server under test has a core to itself (as
far as the rest of the machine's users allow: the machine's CPU is printed per step).

Viewers (``bench/llhls_viewers.py``) behave like hls.js in low-latency mode: blocking playlist
reloads for the next part, the preload-hinted part requested as soon as each playlist arrives
(held by the server until it exists), delta playlists. Viewer counts ramp in steps (50, 100,
200, …); at each step the edge and then nginx get the same viewers for the same time: they join
over ``--ramp`` seconds, a ``--warmup`` follows, then the ``--window`` is measured.

Publication time. A probe holds blocking playlist reloads *directly at the origin*
(:class:`bench.harness.PartObserver`): the origin answers a blocking reload the moment the part
enters its playlist, so the probe's arrival time is the part's publication (plus one loopback
HTTP exchange, well under a millisecond on an idle origin). Parts whose answer brought two new
parts at once, or came within 10 ms of the probe's request (the part may have been there
already), are left out: their time is only an upper bound. EXT-X-PROGRAM-DATE-TIME was not
used: it stamps when the media *arrived* at the ingest, before the packager closed the part,
so "delivery − PDT" would charge the packager's ~50 ms and the part's own duration to the edge.
This process raises its own priority (nice −5, when allowed; the origin inherits it) and the
generators run at normal priority, so load generation on the shared core does not delay the
probe's timestamps or the origin.

Per step and server: part delivery latency (viewer has the part's last byte − publication) over
every viewer × every part published in the window (p50/p99/max); requests per second completed
by the viewers; errors (non-200 answers, connection errors) and parts a viewer never received
(a request still open at the end counts here); origin fetches per part (the edge's
``tributary_edge_origin_fetches_total``; nginx's upstream-only access log) over the parts
published in the window; CPU of the server, of the generators, of the origin and of the whole
machine. A step is healthy when p99 ≤ 100 ms with no error and no part missing. Ratios are
Tributary / nginx at the same viewer count.

The generator is Python too (aiohttp; it spends a little more CPU per request than the edge
does), and every viewer's answer to a part arrives at the same instant, so the last viewers'
arrival stamps also wait for the generator to get through the others. Its event-loop lag is
sampled every 10 ms: a step that missed 100 ms is *generator-limited* when its p99 minus the
generators' lag p99 is within 100 ms (the generator's own delay could account for the miss),
unless the server's stalls alone account for it. A stall is a part that reached even its first
viewer more than 100 ms late (the whole path stopped, as opposed to the spread of one burst
across viewers); it is the server's when no generator's loop lagged by half as much meanwhile.
When the edge's first unhealthy step is generator-limited, the edge's viewer count is only a
lower bound (printed with ≥); the edge's CPU per viewer is printed too.

Ramping stops at the first step where the edge is unhealthy (nginx is measured at every step
the edge ran), after one bisection step between the last healthy and the first unhealthy count.

The machine is shared, and one stalled part (every viewer late) is already 2 % of a window's
deliveries, so a step during which the server or the generators waited for their core more than
10 % of the time (``/proc/PID/task/*/schedstat``: another process had it) is *disturbed* and run
again, up to ``--retries`` times per run. Each step prints that wait.

    .venv/bin/python -m bench.edge_load [--runs 2] [--window 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench import harness as h
from bench.llhls_viewers import LAG_TICK
from bench.nginx_peer import NginxPeer, ensure_nginx, nginx_version

P99_LIMIT = 0.100
LEVELS = (50, 100, 200, 400, 800, 1600, 3200)
SERVERS = ("tributary", "nginx")
PRIORITY = -5
JOIN_DELAY = 1.5
"""Seconds between starting the generator processes and the first viewer joining (Python
start-up and imports), so every viewer joins on schedule."""
PROBE_HELD = 0.01
"""A probe answer that came sooner than this after its request may have found the part already
there (the probe asked late), so its time is not the publication."""
DISTURBED = 0.10
"""A step during which the server or the generators waited for their core this share of the
time (other processes had it: the machine is shared) is run again, up to ``--retries`` times
per run; the last attempt is kept and its wait is printed with it. Some wait is normal: the
generators share their core with the origin and the probe, and loopback traffic is processed
in softirqs that pre-empt the server."""
GRACE = 1.5
"""Seconds the viewers go on after the window, so parts published at its very end arrive."""
STEP_KEYS = ("rps", "p50", "p99", "stalled_parts", "server_stalls", "origin_fetches_per_part",
             "server_cpu_pct", "server_wait_pct", "generator_cpu_pct", "generator_lag_p99",
             "machine_cpu_pct")


class Server(Protocol):
    """What a step needs of the server under test."""

    name: str
    url: str

    def cpu_seconds(self) -> float: ...

    def processes(self) -> list[psutil.Process]: ...

    async def origin_fetches(self) -> float: ...

    def problems(self) -> list[str]: ...


class EdgeProcess:
    """``python -m tributary serve edge`` in front of one origin, pinned to ``core``."""

    name = "tributary"

    def __init__(self, origin: str, workdir: Path, core: int, http: aiohttp.ClientSession) -> None:
        self.http = http
        self.port = h.free_port()
        self.url = f"http://{h.LOOPBACK}:{self.port}"
        self.log_path = workdir / "edge.log"
        workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIBUTARY_")}
        env.update({
            "TRIBUTARY_EDGE__ORIGINS": json.dumps([origin]),
            "TRIBUTARY_EDGE__HOST": h.LOOPBACK,
            "TRIBUTARY_EDGE__PORT": str(self.port),
            "TRIBUTARY_DATA_DIR": str(workdir / "data"),
            "TRIBUTARY_SECRET_KEY": secrets.token_urlsafe(32),
            "TRIBUTARY_LOG_FORMAT": "json",
            "TRIBUTARY_LOG_LEVEL": "INFO",
        })
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(core), h.PYTHON, "-m", "tributary", "serve", "edge"],
            cwd=h.REPO, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"edge exited ({self.proc.returncode}): {self.problems()}")
            with contextlib.suppress(OSError, aiohttp.ClientError, asyncio.TimeoutError):
                async with self.http.get(f"{self.url}/readyz") as resp:
                    if resp.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"edge not ready after {timeout} s: {self.problems()}")
            await asyncio.sleep(0.1)

    def cpu_seconds(self) -> float:
        return h.process_cpu_seconds(self.ps)

    def processes(self) -> list[psutil.Process]:
        return [self.ps]

    async def origin_fetches(self) -> float:
        async with self.http.get(f"{self.url}/metrics") as resp:
            text = await resp.text()
        return sum(sample.value for family in text_string_to_metric_families(text)
                   if family.name == "tributary_edge_origin_fetches"
                   for sample in family.samples if sample.name.endswith("_total"))

    def problems(self) -> list[str]:
        return h.log_problems(self.log_path)

    def stop(self) -> None:
        h.terminate(self.proc, grace=10)
        self._log.close()


@dataclass(frozen=True)
class Cores:
    server: int
    load: frozenset[int]

    @classmethod
    def split(cls) -> Cores:
        """The last core for the server under test, the others for everything else."""
        available = sorted(os.sched_getaffinity(0))
        if len(available) < 2:
            raise SystemExit("edge_load needs 2 cores: one for the server, one for the load")
        return cls(available[-1], frozenset(available[:-1]))


def raise_priority() -> str:
    """nice −5 for this process and what it starts; the generators drop back to 0 themselves."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, PRIORITY)
        return f"nice {PRIORITY}"
    except PermissionError:
        return "normal priority (not allowed to raise it: probe stamps may lag under load)"


class Generators:
    """The load generator processes of one step (``bench/llhls_viewers.py``), on the load cores."""

    def __init__(self, count: int, url: str, viewers: int, join_at: float, ramp: float,
                 window: tuple[float, float], stop_at: float, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.outputs = [workdir / f"gen{i}.json" for i in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []
        for i, out in enumerate(self.outputs):
            share = viewers // count + (1 if i < viewers % count else 0)
            self.procs.append(subprocess.Popen(
                [h.PYTHON, "-m", "bench.llhls_viewers", "--url", url, "--viewers", str(share),
                 "--join-at", repr(join_at), "--ramp", repr(ramp),
                 "--window-start", repr(window[0]), "--window-end", repr(window[1]),
                 "--stop-at", repr(stop_at), "--out", str(out)],
                cwd=h.REPO, stdin=subprocess.DEVNULL))
        self.ps = [psutil.Process(p.pid) for p in self.procs]

    def cpu_seconds(self) -> float:
        return sum(h.process_cpu_seconds(p) for p in self.ps)

    async def results(self, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in self.procs) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self.stop()
        codes = [p.returncode for p in self.procs]
        if any(codes):
            raise RuntimeError(f"load generator exited with {codes}")
        return [json.loads(out.read_text()) for out in self.outputs]

    def stop(self) -> None:
        for proc in self.procs:
            h.terminate(proc)


def runqueue_wait(processes: list[psutil.Process]) -> float:
    """Seconds the processes' threads spent runnable but waiting for a CPU (the second field of
    ``/proc/PID/task/TID/schedstat``): what other work on the same core took from them."""
    total = 0
    for proc in processes:
        for task in Path(f"/proc/{proc.pid}/task").glob("*/schedstat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(task.read_text().split()[1])
    return total / 1e9


@dataclass(frozen=True)
class Sample:
    """Counters read at one instant of a step."""

    at: float
    server_cpu: float
    server_wait: float
    generator_cpu: float
    generator_wait: float
    origin_cpu: float
    machine_busy: float
    origin_fetches: float

    @classmethod
    async def take(cls, server: Server, generators: Generators, origin: h.NodeProcess) -> Sample:
        fetches = await server.origin_fetches()
        return cls(time.monotonic(), server.cpu_seconds(), runqueue_wait(server.processes()),
                   generators.cpu_seconds(), runqueue_wait(generators.ps), origin.cpu_seconds(),
                   h.machine_busy_seconds(), fetches)


async def step(server: Server, viewers: int, *, playlist_path: str, probe: h.PartObserver,
               origin: h.NodeProcess, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One server, one viewer count: generators started, one window measured, figures out."""
    join_at = time.monotonic() + JOIN_DELAY
    window = (join_at + args.ramp + args.warmup, join_at + args.ramp + args.warmup + args.window)
    stop_at = window[1] + GRACE
    generators = Generators(args.generators, server.url + playlist_path, viewers, join_at,
                            args.ramp, window, stop_at, workdir / f"{server.name}-{viewers}")
    try:
        await asyncio.sleep(window[0] - time.monotonic())
        first = await Sample.take(server, generators, origin)
        await asyncio.sleep(window[1] - time.monotonic())
        last = await Sample.take(server, generators, origin)
        outputs = await generators.results(timeout=stop_at - time.monotonic() + 15)
    finally:
        generators.stop()
    published = [p for p in probe.parts if window[0] <= p.available_at <= window[1]]
    # Timed parts: alone in their answer, and held by the origin (the probe asked before the
    # part existed), so the answer's arrival is the publication, not an upper bound of it.
    timed = {p.index: p.available_at for p in published
             if p.exact and p.available_at - p.requested_at >= PROBE_HELD}
    per_part: dict[int, list[float]] = {}
    for out in outputs:
        for index, times in out["deliveries"].items():
            if int(index) in timed:
                per_part.setdefault(int(index), []).extend(at - timed[int(index)] for at in times)
    latencies = [x for part in per_part.values() for x in part]
    missing = viewers * len(timed) - len(latencies)
    errors = sum(o["window_errors"] for o in outputs)
    elapsed = last.at - first.at
    p99 = h.percentile(latencies, 99)
    lags = [(at, lag) for o in outputs for at, lag in o["loop_lag"]]
    lag_p99 = h.percentile([lag for _, lag in lags], 99)
    # Parts that reached even their first viewer late: the whole path stalled, not the spread
    # of one burst. The server's stalls are those during which no generator's loop lagged.
    stalled = {i: min(part) for i, part in per_part.items() if min(part) > P99_LIMIT}
    server_stalls = sum(
        1 for i, first_late in stalled.items()
        if max((lag for at, lag in lags if timed[i] <= at <= timed[i] + first_late + LAG_TICK),
               default=0.0) < first_late / 2)
    return {
        "server": server.name,
        "viewers": viewers,
        "parts": len(published),
        "parts_timed": len(timed),
        "deliveries": len(latencies),
        "p50": h.percentile(latencies, 50),
        "p99": p99,
        "max": max(latencies, default=math.nan),
        "stalled_parts": len(stalled),
        "server_stalls": server_stalls,
        "rps": sum(o["window_requests"] for o in outputs) / elapsed,
        "errors": errors,
        "first_errors": [e for o in outputs for e in o["first_errors"]][:5],
        "missing": missing,
        "origin_fetches_per_part": ((last.origin_fetches - first.origin_fetches) / len(published)
                                    if published else math.nan),
        "server_cpu_pct": 100 * (last.server_cpu - first.server_cpu) / elapsed,
        "server_wait_pct": 100 * (last.server_wait - first.server_wait) / elapsed,
        "generator_cpu_pct": 100 * (last.generator_cpu - first.generator_cpu) / elapsed,
        "generator_wait_pct": 100 * (last.generator_wait - first.generator_wait) / elapsed,
        "origin_cpu_pct": 100 * (last.origin_cpu - first.origin_cpu) / elapsed,
        "machine_cpu_pct": 100 * (last.machine_busy - first.machine_busy) / elapsed,
        "generator_lag_p99": lag_p99,
        # A miss that the generator's own stamping delay could account for and the server's
        # stalls alone (each one delays 1/parts of the deliveries) cannot (see the docstring).
        "generator_limited": (p99 > P99_LIMIT and p99 - lag_p99 <= P99_LIMIT
                              and server_stalls <= len(timed) / 100),
        "late_join": max(o["late_join"] for o in outputs),
        "disturbed": max(last.server_wait - first.server_wait,
                         last.generator_wait - first.generator_wait) > DISTURBED * elapsed,
        "healthy": p99 <= P99_LIMIT and errors == 0 and missing == 0 and bool(timed),
    }


def describe(s: dict[str, Any]) -> str:
    verdict = "ok" if s["healthy"] else "UNHEALTHY"
    if s["generator_limited"]:
        verdict += " (generator-limited)"
    if s["disturbed"]:
        verdict += " (disturbed)"
    notes = "".join(f"; ! {e}" for e in s["first_errors"][:2])
    if s["late_join"] > 0.5:
        notes += f"; ! the last viewer joined {s['late_join']:.1f} s late"
    return (f"  {s['server']:>9} {s['viewers']:>5} viewers: part delivery p50 {h.ms(s['p50'])}"
            f" p99 {h.ms(s['p99'])} max {h.ms(s['max'])} ({s['stalled_parts']} of"
            f" {s['parts_timed']} parts late for every viewer, {s['server_stalls']} of them while"
            f" the generator was not lagging); {s['rps']:.0f} req/s;"
            f" {s['errors']} errors, {s['missing']} deliveries missing; origin fetches/part"
            f" {s['origin_fetches_per_part']:.2f}; CPU: server {s['server_cpu_pct']:.0f}%"
            f" (+{s['server_wait_pct']:.0f}% waiting for it), generators"
            f" {s['generator_cpu_pct']:.0f}% (+{s['generator_wait_pct']:.0f}% waiting; loop lag p99"
            f" {h.ms(s['generator_lag_p99'])}), origin {s['origin_cpu_pct']:.0f}%,"
            f" machine {s['machine_cpu_pct']:.0f}% — {verdict}{notes}")


def next_level(steps: dict[int, dict[str, Any]], max_viewers: int) -> int | None:
    """The next viewer count: the next level until the edge is unhealthy, then one bisection
    step between the last healthy and the first unhealthy count (when they are far apart)."""
    failed = [n for n, r in steps.items() if not r["healthy"]]
    if not failed:
        return next((n for n in LEVELS if n not in steps and n <= max_viewers), None)
    low = max((n for n, r in steps.items() if r["healthy"] and n < min(failed)), default=0)
    mid = (low + min(failed)) // 2
    if low == 0 or mid in steps or any(n not in LEVELS for n in steps) or mid - low < 10:
        return None
    return mid


async def one_run(args: argparse.Namespace, cores: Cores, nginx_binary: str) -> dict[str, Any]:
    async with h.BenchEnv("edge-load") as env:
        assert env.http is not None
        origin = await env.start_node(ladder__heights="[]")
        stream, key = await env.new_stream("el")
        env.ffmpeg_publisher(f"{origin.rtmp}/{key}", h.ensure_source())
        playlist_path = f"/live/{stream}/source/index.m3u8"
        await h.wait_live(env.http, origin.http + playlist_path)
        probe = h.PartObserver(env.http, origin.http + playlist_path)
        stop_probe = asyncio.Event()
        probing = asyncio.ensure_future(probe.run(stop_probe))
        steps: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in SERVERS}
        try:
            with contextlib.ExitStack() as running:
                edge = EdgeProcess(origin.http, env.tmp / "edge", cores.server, env.http)
                running.callback(edge.stop)
                peer = NginxPeer(nginx_binary, origin.http, env.tmp / "nginx", cores.server)
                running.callback(peer.stop)
                await edge.wait_ready()
                await peer.wait_ready(env.http)
                servers: tuple[Server, ...] = (edge, peer)
                retries = args.retries
                viewers = next_level({}, args.max_viewers)
                while viewers is not None:
                    for server in servers:
                        while True:
                            r = await step(server, viewers, playlist_path=playlist_path,
                                           probe=probe, origin=origin, args=args, workdir=env.tmp)
                            print(describe(r), flush=True)
                            if not r["disturbed"] or retries == 0:
                                break
                            retries -= 1
                            print(f"  disturbed by other work on the machine: again"
                                  f" ({retries} retries left in this run)", flush=True)
                        steps[server.name][viewers] = r
                    viewers = next_level(steps[edge.name], args.max_viewers)
                problems = {s.name: s.problems() for s in servers}
        finally:
            stop_probe.set()
            await probing
        problems["origin"] = env.stop_node(origin)
    return summarize(steps, problems, probe.errors)


def capacity(steps: dict[int, dict[str, Any]]) -> tuple[int, bool]:
    """The largest healthy count below the first unhealthy one, and whether it is only a lower
    bound (the first unhealthy step was generator-limited, or no step was unhealthy)."""
    failed = [n for n, r in steps.items() if not r["healthy"]]
    first_failed = min(failed, default=math.inf)
    best = max((n for n, r in steps.items() if r["healthy"] and n < first_failed), default=0)
    return best, not failed or steps[min(failed)]["generator_limited"]


def summarize(steps: dict[str, dict[int, dict[str, Any]]], problems: dict[str, list[str]],
              probe_errors: list[str]) -> dict[str, Any]:
    edge, nginx = steps["tributary"], steps["nginx"]
    best, lower_bound = capacity(edge)
    nginx_best, nginx_lower_bound = capacity(nginx)
    at_best = edge.get(best, {})
    return {
        "steps": [{"viewers": n, "tributary": edge[n], "nginx": nginx.get(n),
                   **ratios(edge[n], nginx.get(n))} for n in sorted(edge)],
        "max_viewers": best,
        "max_viewers_lower_bound": lower_bound,
        "nginx_max_viewers": nginx_best,
        "nginx_max_viewers_lower_bound": nginx_lower_bound,
        "origin_fetches_per_part": at_best.get("origin_fetches_per_part", math.nan),
        "nginx_origin_fetches_per_part": nginx.get(best, {}).get("origin_fetches_per_part", math.nan),
        "edge_cpu_pct_at_max": at_best.get("server_cpu_pct", math.nan),
        "edge_cpu_pct_per_100_viewers": (100 * at_best["server_cpu_pct"] / best if at_best
                                         else math.nan),
        "problems": problems,
        "probe_errors": probe_errors[:10],
    }


def ratios(edge: dict[str, Any], nginx: dict[str, Any] | None) -> dict[str, float]:
    """Tributary / nginx at the same viewer count: req/s (higher is better), p99 (lower is)."""
    if nginx is None:
        return {"rps_ratio": math.nan, "p99_ratio": math.nan}
    return {"rps_ratio": edge["rps"] / nginx["rps"] if nginx["rps"] else math.nan,
            "p99_ratio": edge["p99"] / nginx["p99"] if nginx["p99"] else math.nan}


def aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs: the headline figures, and each viewer count over the runs that
    measured it (the bisection step differs from run to run)."""
    figures: dict[str, Any] = {k: h.spread([r[k] for r in runs]) for k in
                               ("max_viewers", "nginx_max_viewers", "origin_fetches_per_part",
                                "nginx_origin_fetches_per_part", "edge_cpu_pct_at_max",
                                "edge_cpu_pct_per_100_viewers")}
    figures["max_viewers_lower_bound"] = any(r["max_viewers_lower_bound"] for r in runs)
    per_run = [{row["viewers"]: row for row in r["steps"]} for r in runs]
    steps = []
    for n in sorted(set().union(*per_run)):
        rows = [p[n] for p in per_run if n in p]
        step: dict[str, Any] = {"viewers": n, "runs": len(rows)}
        for name in SERVERS:
            measured = [row[name] for row in rows if row[name] is not None]
            step[name] = {k: h.spread([s[k] for s in measured]) for k in STEP_KEYS}
            step[name]["errors"] = sum(s["errors"] for s in measured)
            step[name]["missing"] = sum(s["missing"] for s in measured)
            step[name]["healthy_runs"] = sum(s["healthy"] for s in measured)
            step[name]["generator_limited_runs"] = sum(s["generator_limited"] for s in measured)
            step[name]["disturbed_runs"] = sum(s["disturbed"] for s in measured)
        step["rps_ratio"] = h.spread([row["rps_ratio"] for row in rows])
        step["p99_ratio"] = h.spread([row["p99_ratio"] for row in rows])
        steps.append(step)
    return {"figures": figures, "steps": steps}


def capacity_text(s: dict[str, float], lower_bound: bool) -> str:
    return ("≥ " if lower_bound else "") + h.fmt_spread(s)


def step_table(steps: list[dict[str, Any]]) -> list[str]:
    """Markdown rows, one per viewer count and server (medians over the runs that measured
    it), for the bench's output and RESULTS.md alike."""
    lines = [
        "| viewers | server | req/s | part delivery p50 | p99 | stalled parts (server's) |"
        " origin fetches / part | server CPU | server run-queue wait | generator CPU |"
        " generator loop lag p99 | machine CPU | healthy runs | req/s ratio | p99 ratio |",
        "| --- " * 15 + "|",
    ]
    for step in steps:
        for name in SERVERS:
            s = step[name]
            med = {k: s[k]["median"] for k in STEP_KEYS}
            ratio = (f"{step['rps_ratio']['median']:.2f} | {step['p99_ratio']['median']:.2f}"
                     if name == "tributary" else "|")
            notes = ""
            if s["errors"] or s["missing"]:
                notes += f", {s['errors']} errors, {s['missing']} missing"
            if s["generator_limited_runs"]:
                notes += f", {s['generator_limited_runs']} generator-limited"
            if s["disturbed_runs"]:
                notes += f", {s['disturbed_runs']} disturbed"
            lines.append(
                f"| {step['viewers']} | {name} | {med['rps']:.0f} | {h.ms(med['p50'])} |"
                f" {h.ms(med['p99'])} | {med['stalled_parts']:g} ({med['server_stalls']:g}) |"
                f" {med['origin_fetches_per_part']:.2f} |"
                f" {med['server_cpu_pct']:.0f}% | {med['server_wait_pct']:.0f}% |"
                f" {med['generator_cpu_pct']:.0f}% |"
                f" {h.ms(med['generator_lag_p99'])} | {med['machine_cpu_pct']:.0f}% |"
                f" {s['healthy_runs']}/{step['runs']}{notes} | {ratio} |")
    return lines


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="fresh origin, edge and nginx per run")
    parser.add_argument("--window", type=float, default=10.0, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds between the last viewer joining and the window")
    parser.add_argument("--ramp", type=float, default=2.0, help="viewers join over this many seconds")
    parser.add_argument("--max-viewers", type=int, default=LEVELS[-1])
    parser.add_argument("--retries", type=int, default=4,
                        help="steps run again, per run, when other work took their cores")
    parser.add_argument("--generators", type=int, default=0,
                        help="load generator processes (default: one per load core)")
    parser.add_argument("--json", help="write the figures here (for run_all)")
    args = parser.parse_args()
    cores = Cores.split()
    args.generators = args.generators or len(cores.load)
    os.sched_setaffinity(0, cores.load)  # inherited by the origin, publisher and generators
    priority = raise_priority()
    m = h.machine()
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    h.print_header("edge under LL-HLS load", m)
    nginx_binary = ensure_nginx()
    peer = nginx_version(nginx_binary)
    h.ensure_source()
    print(f"server under test on core {cores.server}; origin, publisher, probe and"
          f" {args.generators} generator process(es) on core(s) {sorted(cores.load)}; this"
          f" process at {priority}; peer {peer}", flush=True)
    runs = []
    for run in range(args.runs):
        load = h.announce_run(run, args.runs)
        r = await one_run(args, cores, nginx_binary)
        r["load_average_before"] = load
        runs.append(r)
        best, lower = r["max_viewers"], r["max_viewers_lower_bound"]
        print(f"  largest healthy: tributary {'≥ ' if lower else ''}{best} viewers,"
              f" nginx {r['nginx_max_viewers']} viewers")
        for who, lines in r["problems"].items():
            for line in lines[:10]:
                print(f"  ! {who}: {line}")
        for line in r["probe_errors"]:
            print(f"  ! probe: {line}")
    result = aggregate(runs)
    f = result["figures"]
    print(h.machine().line())
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n".join(step_table(result["steps"])))
    print(f"largest viewer count with p99 part delivery ≤ {P99_LIMIT * 1000:.0f} ms and no errors:"
          f" tributary {capacity_text(f['max_viewers'], f['max_viewers_lower_bound'])},"
          f" nginx {h.fmt_spread(f['nginx_max_viewers'])}")
    print(f"origin fetches per part at that count: tributary"
          f" {h.fmt_spread(f['origin_fetches_per_part'], digits=2)}, nginx"
          f" {h.fmt_spread(f['nginx_origin_fetches_per_part'], digits=2)}; edge CPU"
          f" {h.fmt_spread(f['edge_cpu_pct_at_max'], '% of its core')},"
          f" {h.fmt_spread(f['edge_cpu_pct_per_100_viewers'], '% per 100 viewers', digits=1)}")
    h.write_json(args.json, {"machine": m, "started": started, "nginx": peer, "priority": priority,
                             "window": args.window, "warmup": args.warmup, "ramp": args.ramp,
                             "cores": {"server": cores.server, "load": sorted(cores.load)},
                             "generators": args.generators, **result, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
