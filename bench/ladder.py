"""Live ABR ladder: encoding speed and CPU, ladder streams per node, extra latency of each rung.

Two sources, encoded once by the harness and then only copied: the harness's 720p30 profile
(3000 kb/s, 2 B-frames, 2 s GOP) and the same at 1080p30 (6000 kb/s). The ladder is the node's
default (``LadderSettings()``: heights 720/480/360, x264 preset veryfast, shed at 1 s lag). The
planner never encodes a rung at or above the source's height, so a 720p source gets 480p + 360p
and a 1080p source gets 720p + 480p + 360p; the passthrough ("source") is served next to them.

1. **Realtime factor and CPU, in process.** One 24 s loop of the source's video, mapped onto
   the output timeline as ``PublishSession`` does (``packager.timeline.Timeline``), goes through
   the real ``Transcoder`` (decode once, scale + x264 per rung, each on its thread) as fast as it
   can take it: the feed only waits when the slowest rung is more than ``--backlog`` seconds of
   media behind (bounds the decoded frames held in memory, keeps the pipeline full). Shedding is
   off (``max_lag`` huge): the question is how fast, not whether real time is kept. Measured: wall
   time from ``start()`` to ``stop()`` (every rung flushed and joined) and this process's CPU time
   (``getrusage``: every thread, x264's and libavcodec's own included).
   *realtime factor* = media s / wall s; *CPU at real time* = CPU s / media s, in cores (what
   one live stream's ladder costs). Breakdown: the same with no rung (decode only) and with each
   rung alone; a rung's cost is (decode + that rung) − (decode only).
2. **Ladder streams per node.** A node process with the ladder on; N real-time publishers
   (``ffmpeg -re -stream_loop -1 … -c copy``), N = 1, 2, 3, … For each step, after a warm-up
   (rungs start a GOP late, then catch up), over the measurement window: node CPU, publishers',
   this process's and the whole machine's (the rest is other work on the shared machine).
   Healthy when: no rendition was dropped (``tributary_ladder_renditions_dropped_total`` from
   ``GET /metrics``: shed or misaligned, since the node started); every rendition of every stream
   answers and its live edge (now − ingest time of its newest media, sampled every ~2.5 s) stays
   ≤ 1.5 s; every rendition's media advances at ≥ 0.95× real time (from the live-edge samples;
   for stream 0 also from its blocking-reload observers); every publisher is connected. The ramp
   stops at the first unhealthy step; the largest healthy N is reported. A drop is reported with
   how many happened inside the window (the others happened while the newest stream's rungs
   caught up from their late start). A step that failed on lag or pace alone while other
   processes used > 30 % of a core is measured once more (both are kept in the JSON). The 1.5 s
   live-edge limit is a viewer's criterion; the node's own shed rule may tolerate more lag before
   it drops a rung, so a step can be unhealthy with nothing shed.
3. **Extra latency of each rung over the passthrough.** Stream 0 has a ``PartObserver`` (blocking
   playlist reloads) per rendition. Renditions are aligned: a part with the same MSN and the same
   video start (tfdt, read from the part: the same media, hence the same index in its segment) is
   the same media in every rendition. For each such pair, both timed exactly, the rung's
   availability time minus the source's; p50/p95 per rung. The headline is the N = 1 window (one
   stream on the node); later steps show how it grows with load.

The machine is shared: before each measurement (each in-process ladder, each node step) the
script waits up to ``--quiet-wait`` s for other processes to leave the cores mostly idle, and
every figure is printed with the CPU other processes used during it (machine busy time minus
this process, the node and the publishers). On a busy machine that waiting lengthens the run.

    .venv/bin/python -m bench.ladder [--runs 3] [--node-runs 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import resource
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import av
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench import harness as h
from packager.cmaf_muxer import TimedPacket
from packager.ladder.rungs import Rung, plan_rungs
from packager.ladder.transcoder import Transcoder, TranscoderOptions
from packager.media import MediaPacket, VideoConfig
from packager.timeline import VIDEO_TIMESCALE, Timeline
from tributary.settings import LadderSettings

SOURCES: dict[str, h.SourceSpec] = {
    "720p30": h.SourceSpec(),
    "1080p30": h.SourceSpec(width=1920, height=1080, video_kbps=6000),
}
SOURCE_RENDITION = "source"
LAG_LIMIT_S = 1.5
PACE_MIN = 0.95
QUIET_MACHINE_PCT = 15.0
"""Machine busy (% of all cores) under which an in-process measurement starts without waiting."""
QUIET_OTHERS_PCT = 30.0
"""Other processes' CPU (% of one core: not the node, publishers or this process) under which a
node step is measured without waiting, and over which a step that failed on lag alone is
measured once more."""

# ------------------------------------------------------------------------------------ shared


def ladder_settings() -> LadderSettings:
    """The node's shipped defaults: what the figures are for."""
    return LadderSettings()


def planned(spec: h.SourceSpec, heights: Sequence[int]) -> list[Rung]:
    return plan_rungs(spec.width, spec.height, spec.fps, heights)


def machine_busy_pct(seconds: float = 2.0) -> float:
    """Busy CPU of the whole machine over ``seconds``, in % of all cores."""
    before, t0 = h.machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    cores = psutil.cpu_count() or 1
    return 100 * (h.machine_busy_seconds() - before) / (time.monotonic() - t0) / cores


def wait_quiet(max_wait: float, what: str) -> float:
    """Wait (up to ``max_wait`` s) until others leave the machine mostly idle; returns busy %."""
    deadline = time.monotonic() + max_wait
    busy = machine_busy_pct()
    waited = False
    while busy > QUIET_MACHINE_PCT and time.monotonic() < deadline:
        if not waited:
            print(f"  (machine {busy:.0f}% busy before {what}: waiting up to {max_wait:g} s"
                  " for other work to finish)", flush=True)
            waited = True
        time.sleep(3)
        busy = machine_busy_pct()
    if busy > QUIET_MACHINE_PCT:
        print(f"  ! machine still {busy:.0f}% busy (others' work): {what} measured anyway,"
              " figures may be pessimistic", flush=True)
    return busy


# ------------------------------------------------------------------------------------ 1. in process


def timeline_video(source: h.LoadedSource) -> tuple[VideoConfig, list[TimedPacket]]:
    """The source's video as ``PublishSession`` hands it to the ladder: on the output timeline."""
    with av.open(str(source.path)) as container:
        config = VideoConfig(bytes(container.streams.video[0].codec_context.extradata))
    timeline = Timeline(0, 48_000)
    packets = []
    for p in source.packets:
        if p.kind != "video":
            continue
        media = MediaPacket("video", p.dts_ms, p.pts_ms - p.dts_ms, p.keyframe, p.data,
                            received=1000.0 + p.dts_ms / 1000)
        dts, pts = timeline.video(media)
        packets.append(TimedPacket("video", dts, pts, p.keyframe, p.data))
    return config, packets


@dataclass
class _Sink:
    """A LadderSink that counts what each rung produced (called from rung threads)."""

    rungs: list[Rung] | None = None
    frames: dict[str, int] = field(default_factory=dict)
    progress: dict[str, int] = field(default_factory=dict)
    ended: dict[str, bool] = field(default_factory=dict)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def planned(self, rungs: Sequence[Rung]) -> None:
        with self.cond:
            self.rungs = list(rungs)
            self.cond.notify_all()

    def rung_started(self, rung: Rung, config: VideoConfig) -> None:
        with self.cond:
            self.frames[rung.name] = 0

    def rung_packets(self, rung: Rung, packets: list[TimedPacket]) -> None:
        with self.cond:
            self.frames[rung.name] += len(packets)
            self.progress[rung.name] = packets[-1].dts
            self.cond.notify_all()

    def rung_ended(self, rung: Rung, *, shed: bool) -> None:
        with self.cond:
            self.ended[rung.name] = shed
            self.cond.notify_all()

    def wait_for(self, dts: int) -> None:
        """Until every rung has encoded up to ``dts`` (or ended); no-op before the plan."""
        with self.cond:
            while self.rungs and not all(
                self.progress.get(r.name, -1) >= dts or r.name in self.ended for r in self.rungs
            ):
                self.cond.wait(0.5)


def transcode(config: VideoConfig, packets: list[TimedPacket], heights: Sequence[int],
              preset: str, backlog_s: float) -> dict[str, Any]:
    """Everything through a real Transcoder as fast as it goes; wall and CPU time of it."""
    sink = _Sink()
    transcoder = Transcoder("bench", config, sink,
                            TranscoderOptions(heights=tuple(heights), preset=preset, max_lag=1e9))
    backlog = int(backlog_s * VIDEO_TIMESCALE)
    usage0, busy0, t0 = resource.getrusage(resource.RUSAGE_SELF), h.machine_busy_seconds(), time.monotonic()
    transcoder.start()
    for packet in packets:
        sink.wait_for(packet.dts - backlog)
        transcoder.put(packet)
    transcoder.stop()
    t1, busy1, usage1 = time.monotonic(), h.machine_busy_seconds(), resource.getrusage(resource.RUSAGE_SELF)
    wall = t1 - t0
    cpu = (usage1.ru_utime + usage1.ru_stime) - (usage0.ru_utime + usage0.ru_stime)
    frame_s = (packets[1].dts - packets[0].dts) / VIDEO_TIMESCALE
    media = len(packets) * frame_s
    short = {name: n for name, n in sink.frames.items() if n != len(packets)}
    return {
        "rungs": [r.name for r in transcoder.rungs], "media_s": media, "wall_s": wall,
        "cpu_s": cpu, "realtime_factor": media / wall, "cores_at_realtime": cpu / media,
        "cores_while_running": cpu / wall,
        "others_cpu_pct": 100 * max(0.0, (busy1 - busy0) - cpu) / wall,
        "shed": [r.name for r in transcoder.shed], "incomplete_rungs": short,
        "decode_errors": transcoder.decode_errors,
    }


def in_process_run(sources: dict[str, tuple[VideoConfig, list[TimedPacket]]], settings: LadderSettings,
                   backlog_s: float, breakdown: bool, quiet_wait: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, (config, packets) in sources.items():
        spec = SOURCES[label]
        busy = wait_quiet(quiet_wait, f"the {label} ladder")
        full = transcode(config, packets, settings.heights, settings.preset, backlog_s)
        full["machine_busy_before_pct"] = busy
        entry: dict[str, Any] = {"ladder": full}
        line = (f"  {label}: ladder {'+'.join(full['rungs'])}: {full['realtime_factor']:.2f}× real time"
                f" ({full['media_s']:.0f} s media in {full['wall_s']:.1f} s), CPU {full['cpu_s']:.1f} s ="
                f" {full['cores_at_realtime']:.2f} cores at real time ({full['cores_while_running']:.2f}"
                f" cores busy while running) | others used {full['others_cpu_pct']:.0f}% of a core")
        print(line, flush=True)
        if full["shed"] or full["incomplete_rungs"] or full["decode_errors"]:
            print(f"    ! shed {full['shed']} incomplete {full['incomplete_rungs']}"
                  f" decode errors {full['decode_errors']}")
        if breakdown:
            decode = transcode(config, packets, (), settings.preset, backlog_s)
            entry["decode_only"] = decode
            parts = [f"decode only {decode['cores_at_realtime']:.3f} cores ({decode['realtime_factor']:.1f}× rt)"]
            for rung in planned(spec, settings.heights):
                alone = transcode(config, packets, (rung.height,), settings.preset, backlog_s)
                alone["rung_cores_at_realtime"] = alone["cores_at_realtime"] - decode["cores_at_realtime"]
                entry[rung.name] = alone
                parts.append(f"{rung.name} +{alone['rung_cores_at_realtime']:.3f} cores"
                             f" (decode+{rung.name} alone {alone['realtime_factor']:.2f}× rt)")
            print("    per rung: " + "; ".join(parts), flush=True)
        out[label] = entry
    return out


# ------------------------------------------------------------------------------------ 2+3. node


async def node_metrics(env: h.BenchEnv, node: h.NodeProcess) -> dict[str, Any]:
    """Dropped renditions by (rendition, reason) and rungs encoding now, from GET /metrics."""
    assert env.http is not None
    async with env.http.get(f"{node.http}/metrics") as resp:
        text = await resp.text()
    dropped: dict[str, float] = {}
    encoding: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "tributary_ladder_renditions_dropped_total" and sample.value:
                key = f"{sample.labels.get('rendition')}:{sample.labels.get('reason')}"
                dropped[key] = sample.value
            elif sample.name == "tributary_ladder_rungs_encoding":
                encoding[sample.labels.get("rendition", "?")] = sample.value
    return {"dropped": dropped, "encoding": encoding}


def extra_latency(source: Sequence[h.ObservedPart], rung: Sequence[h.ObservedPart],
                  window: tuple[float, float]) -> dict[str, Any]:
    """Rung part available − source part available, for the same (MSN, video start)."""

    def keyed(parts: Sequence[h.ObservedPart]) -> dict[int, h.ObservedPart]:
        return {p.runs["video"].start: p for p in parts if "video" in p.runs}

    rung_by_start = keyed(rung)
    deltas, misaligned, inexact, missing = [], 0, 0, 0
    for start, src in keyed(source).items():
        if not window[0] <= src.available_at <= window[1]:
            continue
        other = rung_by_start.get(start)
        if other is None:
            missing += 1
            continue
        if other.msn != src.msn:
            misaligned += 1
            continue
        if not (src.exact and other.exact):
            inexact += 1
            continue
        deltas.append(other.available_at - src.available_at)
    return {"p50": h.percentile(deltas, 50), "p95": h.percentile(deltas, 95),
            "max": max(deltas, default=math.nan), "pairs": len(deltas), "inexact": inexact,
            "misaligned": misaligned, "unmatched": missing}


@dataclass
class _Streams:
    urls: list[dict[str, str]] = field(default_factory=list)  # per stream: rendition → playlist
    publishers: list[h.FfmpegPublisher] = field(default_factory=list)


async def node_run(env: h.BenchEnv, label: str, source_path: Any, settings: LadderSettings,
                   args: argparse.Namespace) -> dict[str, Any]:
    """One node, streams added one at a time until a step is unhealthy (or --max-streams)."""
    assert env.http is not None
    spec = SOURCES[label]
    renditions = [SOURCE_RENDITION] + [r.name for r in planned(spec, settings.heights)]
    await asyncio.to_thread(wait_quiet, args.quiet_wait, f"the {label} node run")
    node = await env.start_node(ladder__heights=f"[{','.join(map(str, settings.heights))}]",
                                ladder__preset=settings.preset, ladder__max_lag=settings.max_lag)
    streams = _Streams()
    observers: dict[str, h.PartObserver] = {}
    stop = asyncio.Event()
    observing: list[asyncio.Future[None]] = []
    steps: list[dict[str, Any]] = []
    advertised: list[str] = []

    async def add_stream() -> None:
        name, key = await env.new_stream("lad")
        base = f"{node.http}/live/{name}"
        urls = {r: f"{base}/{r}/index.m3u8" for r in renditions}
        if not streams.urls:  # stream 0: an observer per rendition, from its very start
            for r, url in urls.items():
                observers[r] = h.PartObserver(env.http, url)
                observing.append(asyncio.ensure_future(observers[r].run(stop)))
        streams.publishers.append(env.ffmpeg_publisher(f"{node.rtmp}/{key}", source_path))
        streams.urls.append(urls)
        await h.wait_live(env.http, urls[SOURCE_RENDITION], timeout=30)
        if len(streams.urls) == 1:
            advertised[:] = await _advertised(env, f"{base}/master.m3u8", len(renditions))

    try:
        good, bad = 0, None
        for n in range(1, args.max_streams + 1):
            await add_stream()
            await asyncio.sleep(args.warmup)
            await wait_others_quiet(node, streams, args.quiet_wait)
            result = await measure(env, node, streams, observers, renditions, args.window)
            if (not result["healthy"] and not result["metrics"]["dropped"]
                    and result["others_cpu_pct"] > QUIET_OTHERS_PCT):
                # Late or slow while other work took the cores, nothing dropped: measure again.
                print(_step_line(result) + f"\n        (others used {result['others_cpu_pct']:.0f}%"
                      " of a core: measured again)", flush=True)
                await wait_others_quiet(node, streams, args.quiet_wait)
                retry = await measure(env, node, streams, observers, renditions, args.window)
                retry["contended_attempt"] = result
                result = retry
            steps.append(result)
            print(_step_line(result), flush=True)
            if not result["healthy"]:
                bad = n
                break
            good = n
    finally:
        stop.set()
        for pub in streams.publishers:
            pub.stop()
        await asyncio.gather(*observing, return_exceptions=True)
    problems = env.stop_node(node)
    ffmpeg_errors = [e for e in (p.errors() for p in streams.publishers) if e]
    first = steps[0] if steps else {}
    return {
        "source": label, "renditions": renditions, "advertised": advertised, "steps": steps,
        "max_healthy_streams": good, "first_unhealthy_streams": bad,
        "latency_n1": first.get("latency", {}),
        "node_cpu_pct_n1": first.get("node_cpu_pct", math.nan),
        "node_problems": problems[:50], "node_problem_count": len(problems),
        "ffmpeg_errors": ffmpeg_errors[:10],
    }


def _ours(node: h.NodeProcess, streams: _Streams) -> float:
    procs = [node.ps, psutil.Process()] + [psutil.Process(p.proc.pid) for p in streams.publishers]
    return sum(h.process_cpu_seconds(p) for p in procs)


async def wait_others_quiet(node: h.NodeProcess, streams: _Streams, max_wait: float) -> float:
    """Wait (up to ``max_wait`` s) for other work to leave the cores; its CPU, % of one core."""
    deadline = time.monotonic() + max_wait
    announced = False
    while True:
        t0, busy0, ours0 = time.monotonic(), h.machine_busy_seconds(), _ours(node, streams)
        await asyncio.sleep(2)
        others = 100 * max(0.0, (h.machine_busy_seconds() - busy0) - (_ours(node, streams) - ours0)) \
            / (time.monotonic() - t0)
        if others <= QUIET_OTHERS_PCT or time.monotonic() >= deadline:
            if announced or others > QUIET_OTHERS_PCT:
                print(f"        (others on the machine: {others:.0f}% of a core"
                      f"{'' if others <= QUIET_OTHERS_PCT else ', measuring anyway'})", flush=True)
            return others
        if not announced:
            print(f"        (others on the machine use {others:.0f}% of a core: waiting up to"
                  f" {max_wait:g} s)", flush=True)
            announced = True


async def _advertised(env: h.BenchEnv, url: str, expected: int, timeout: float = 20) -> list[str]:
    """Renditions in the multivariant playlist, once it lists them all (or at ``timeout``)."""
    assert env.http is not None
    deadline = time.monotonic() + timeout
    names: list[str] = []
    while time.monotonic() < deadline:
        async with env.http.get(url) as resp:
            text = await resp.text() if resp.status == 200 else ""
        names = [line.split("/")[0] for line in text.splitlines() if line.endswith("index.m3u8")]
        if len(names) >= expected:
            break
        await asyncio.sleep(0.5)
    return names


async def measure(env: h.BenchEnv, node: h.NodeProcess, streams: _Streams,
                  observers: dict[str, h.PartObserver], renditions: list[str],
                  window_s: float) -> dict[str, Any]:
    assert env.http is not None
    http = env.http
    cores = psutil.cpu_count() or 1
    n = len(streams.urls)
    procs = [psutil.Process(p.proc.pid) for p in streams.publishers]
    me = psutil.Process()
    errors_before = {r: len(o.errors) for r, o in observers.items()}

    def cpu() -> tuple[float, ...]:
        return (node.cpu_seconds(), sum(h.process_cpu_seconds(p) for p in procs),
                h.process_cpu_seconds(me), h.machine_busy_seconds())

    keys = [(i, r) for i in range(n) for r in renditions]
    samples: dict[tuple[int, str], list[tuple[float, float]]] = {k: [] for k in keys}

    async def sample() -> None:
        lags = await asyncio.gather(*(h.live_edge_lag(http, streams.urls[i][r]) for i, r in keys),
                                    return_exceptions=True)
        now = time.monotonic()
        for k, lag in zip(keys, lags):
            samples[k].append((now, lag if isinstance(lag, float) else math.nan))

    metrics_before = await node_metrics(env, node)
    t0, cpu0 = time.monotonic(), cpu()
    await sample()
    while time.monotonic() < t0 + window_s - 0.1:
        await asyncio.sleep(min(2.5, max(0.0, t0 + window_s - time.monotonic())))
        await sample()
    t1, cpu1 = time.monotonic(), cpu()
    metrics = await node_metrics(env, node)
    await asyncio.sleep(0.5)  # the observers' part fetches of the window finish
    pct = [100 * (b - a) / (t1 - t0) for a, b in zip(cpu0, cpu1)]

    worst_lag: dict[str, float] = {}
    pace: dict[str, float] = {}
    unanswered: list[str] = []
    for r in renditions:
        lags, paces = [], []
        for i in range(n):
            got = samples[(i, r)]
            values = [lag for _, lag in got]
            if any(math.isnan(v) for v in values):
                unanswered.append(f"{i}/{r}")
                continue
            lags += values
            (ta, la), (tb, lb) = got[0], got[-1]
            paces.append(1 - (lb - la) / (tb - ta) if tb > ta else math.nan)
        worst_lag[r] = max(lags, default=math.nan)
        pace[r] = min(paces, default=math.nan)
    observed_pace = {r: h.part_pace(o.parts, (t0, t1)) for r, o in observers.items()}
    latency = {r: extra_latency(observers[SOURCE_RENDITION].parts, observers[r].parts, (t0, t1))
               for r in renditions if r != SOURCE_RENDITION}
    alive = sum(p.alive for p in streams.publishers)

    reasons = []
    if metrics["dropped"]:
        # Before the window = while the newest stream's rungs caught up from their late start.
        reasons.append("renditions dropped: " + ", ".join(
            f"{k} ×{v:g} ({v - metrics_before['dropped'].get(k, 0):g} in the window)"
            for k, v in sorted(metrics["dropped"].items())))
    if unanswered:
        reasons.append(f"{len(unanswered)} playlists did not answer 200 ({', '.join(unanswered[:6])})")
    too_late = {r: v for r, v in worst_lag.items() if not math.isnan(v) and v > LAG_LIMIT_S}
    if too_late:
        reasons.append("live edge > 1.5 s: " + ", ".join(f"{r} {v:.2f} s" for r, v in too_late.items()))
    slow = {r: v for r, v in pace.items() if not math.isnan(v) and v < PACE_MIN}
    slow.update({f"stream0 {r}": v for r, v in observed_pace.items() if not v >= PACE_MIN})
    if slow:
        reasons.append("media pace < 0.95: " + ", ".join(f"{r} {v:.3f}" for r, v in slow.items()))
    if alive < n:
        reasons.append(f"{n - alive} publishers disconnected")
    return {
        "streams": n, "node_cpu_pct": pct[0], "cpu_per_stream_pct": pct[0] / n,
        "ffmpeg_cpu_pct": pct[1], "bench_cpu_pct": pct[2], "machine_cpu_pct": pct[3],
        "others_cpu_pct": max(0.0, pct[3] - pct[0] - pct[1] - pct[2]),
        "cores": cores, "node_rss_mib": node.rss_mib(), "worst_lag": worst_lag,
        "median_lag": {r: h.percentile([lag for i in range(n) for _, lag in samples[(i, r)]
                                        if not math.isnan(lag)], 50) for r in renditions},
        "pace": pace, "observed_pace": observed_pace, "latency": latency,
        "metrics": metrics, "metrics_before_window": metrics_before, "lag_samples": len(next(iter(samples.values()))),
        "lags": {f"{i}/{r}": [round(lag, 3) for _, lag in v] for (i, r), v in samples.items()},
        "observer_errors": {r: o.errors[errors_before[r]:][:5] for r, o in observers.items()
                            if len(o.errors) > errors_before[r]},
        "healthy": not reasons, "reasons": reasons,
    }


def _step_line(s: dict[str, Any]) -> str:
    lag = " ".join(f"{r} {s['median_lag'][r]:.2f}/{s['worst_lag'][r]:.2f}" for r in s["worst_lag"])
    lat = " ".join(f"{r} {h.ms(v['p50'])}/{h.ms(v['p95'])}" for r, v in s["latency"].items())
    encoding = sum(s["metrics"]["encoding"].values())
    return (f"  N={s['streams']:2d}: node {s['node_cpu_pct']:5.1f}% ({s['cpu_per_stream_pct']:5.1f}%/stream,"
            f" {s['node_rss_mib']:.0f} MiB, {encoding:g} rungs encoding) | ffmpeg {s['ffmpeg_cpu_pct']:4.1f}%"
            f" | bench {s['bench_cpu_pct']:4.1f}% | machine {s['machine_cpu_pct']:5.1f}% of"
            f" {100 * s['cores']}% (others {s['others_cpu_pct']:.0f}%)\n"
            f"        live edge median/worst s: {lag} | stream 0 rung − source p50/p95: {lat}\n"
            f"        {'healthy' if s['healthy'] else 'UNHEALTHY: ' + '; '.join(s['reasons'])}")


# ------------------------------------------------------------------------------------ main


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="in-process transcode runs per source")
    parser.add_argument("--node-runs", type=int, default=1,
                        help="node capacity/latency runs per source (fresh node each)")
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated: 720p30,1080p30")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-rung in-process runs")
    parser.add_argument("--skip-node", action="store_true", help="in-process figures only")
    parser.add_argument("--backlog", type=float, default=3.0,
                        help="in process: media seconds the feed may run ahead of the slowest rung")
    parser.add_argument("--max-streams", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds after adding a stream")
    parser.add_argument("--window", type=float, default=15.0, help="measurement seconds per step")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="max seconds to wait for a busy machine before each measurement")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    labels = [s for s in args.sources.split(",") if s]
    m = h.machine()
    h.print_header("live ABR ladder", m)
    settings = ladder_settings()
    started = time.monotonic()
    print(f"ladder: heights {settings.heights}, x264 preset {settings.preset}, shed at"
          f" {settings.max_lag:g} s lag (the node's defaults)")
    loaded: dict[str, h.LoadedSource] = {}
    for label in labels:
        spec = SOURCES[label]
        loaded[label] = h.load_source(h.ensure_source(spec), spec)
        rungs = planned(spec, settings.heights)
        skipped = [x for x in settings.heights if x >= spec.height]
        print(f"source {label}: {spec.label}; encoded rungs "
              + ", ".join(f"{r.name} {r.width}x{r.height} {r.bitrate / 1000:.0f} kb/s" for r in rungs)
              + (f" (not {', '.join(f'{x}p' for x in skipped)}: the planner never encodes a rung at or"
                 " above the source height; the passthrough serves that)" if skipped else ""))
    print(f"machine busy before starting: {await asyncio.to_thread(machine_busy_pct):.0f}% of"
          f" {m.cores} cores", flush=True)

    # 1. in process -------------------------------------------------------------------------
    timeline = {label: timeline_video(src) for label, src in loaded.items()}
    in_runs = []
    for run in range(args.runs):
        print(f"in-process run {run + 1}/{args.runs} (the real Transcoder, fed as fast as it goes)", flush=True)
        in_runs.append(await asyncio.to_thread(in_process_run, timeline, settings, args.backlog,
                                               not args.no_breakdown, args.quiet_wait))
    in_figures: dict[str, Any] = {}
    for label in labels:
        f = {k: h.spread([r[label]["ladder"][k] for r in in_runs])
             for k in ("realtime_factor", "cores_at_realtime", "others_cpu_pct")}
        if not args.no_breakdown:
            f["decode_only_cores"] = h.spread([r[label]["decode_only"]["cores_at_realtime"] for r in in_runs])
            for rung in planned(SOURCES[label], settings.heights):
                f[f"{rung.name}_cores"] = h.spread([r[label][rung.name]["rung_cores_at_realtime"]
                                                    for r in in_runs])
        in_figures[label] = f

    # 2+3. node -----------------------------------------------------------------------------
    node_runs: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    if not args.skip_node and args.node_runs > 0:
        async with h.BenchEnv("ladder") as env:
            for run in range(args.node_runs):
                for label in labels:
                    print(f"node run {run + 1}/{args.node_runs}, {label}: one node, ladder on, N real-time"
                          f" ffmpeg publishers; {args.warmup:g} s warm-up + {args.window:g} s measured"
                          " per step", flush=True)
                    r = await node_run(env, label, loaded[label].path, settings, args)
                    node_runs[label].append(r)
                    print(f"  multivariant of stream 0 lists: {', '.join(r['advertised']) or 'nothing'};"
                          f" largest healthy N: {r['max_healthy_streams']} (first unhealthy:"
                          f" {r['first_unhealthy_streams']})", flush=True)
                    for line in r["node_problems"][:8] + r["ffmpeg_errors"]:
                        print(f"  ! {line[:300]}")
                    if r["node_problem_count"] > 8:
                        print(f"  ! … {r['node_problem_count'] - 8} more node warnings")
    node_figures: dict[str, Any] = {}
    for label, runs in node_runs.items():
        if not runs:
            continue
        f: dict[str, Any] = {
            "max_healthy_streams": h.spread([float(r["max_healthy_streams"]) for r in runs]),
            "node_cpu_pct_n1": h.spread([r["node_cpu_pct_n1"] for r in runs]),
        }
        for rung in runs[0]["renditions"][1:]:
            for q in ("p50", "p95"):
                f[f"{rung}_extra_{q}"] = h.spread([r["latency_n1"].get(rung, {}).get(q, math.nan)
                                                   for r in runs])
        node_figures[label] = f

    # summary -------------------------------------------------------------------------------
    print()
    print(h.machine().line())
    for label in labels:
        f = in_figures[label]
        if in_runs:
            print(f"{label} ladder in process ({'+'.join(in_runs[0][label]['ladder']['rungs'])}):"
                  f" {h.fmt_spread(f['realtime_factor'], '×', digits=2)} real time;"
                  f" CPU {h.fmt_spread(f['cores_at_realtime'], ' cores', digits=2)} at real time"
                  f" (others used {h.fmt_spread(f['others_cpu_pct'], '%')} of a core meanwhile)")
        if in_runs and not args.no_breakdown:
            parts = [f"decode {h.fmt_spread(f['decode_only_cores'], '', digits=3)}"]
            parts += [f"{r.name} {h.fmt_spread(f[f'{r.name}_cores'], '', digits=3)}"
                      for r in planned(SOURCES[label], settings.heights)]
            print(f"  cores at real time by stage: {'; '.join(parts)}")
        if label in node_figures:
            nf = node_figures[label]
            steps = node_runs[label][-1]["steps"]
            print(f"{label} on one node: largest healthy N {h.fmt_spread(nf['max_healthy_streams'])}"
                  f" stream(s); node CPU at N=1 {h.fmt_spread(nf['node_cpu_pct_n1'], '%')} of a core;"
                  " node CPU by N (last run): "
                  + ", ".join(f"{s['streams']}: {s['node_cpu_pct']:.0f}%{'' if s['healthy'] else ' (unhealthy)'}"
                              for s in steps))
            lat = [f"{rung} p50 {h.fmt_spread(nf[f'{rung}_extra_p50'], ' ms', 1000)},"
                   f" p95 {h.fmt_spread(nf[f'{rung}_extra_p95'], ' ms', 1000)}"
                   for rung in node_runs[label][0]["renditions"][1:]]
            print(f"  extra latency over the passthrough at N=1 (part available, rung − source): {'; '.join(lat)}")
            for i, r in enumerate(node_runs[label]):
                bad = [s for s in r["steps"] if not s["healthy"]]
                if bad:
                    print(f"  run {i + 1}: N={bad[0]['streams']} unhealthy: {'; '.join(bad[0]['reasons'])}"
                          f" (others used {bad[0]['others_cpu_pct']:.0f}% of a core meanwhile)")
    print(f"total {(time.monotonic() - started) / 60:.1f} min")
    h.write_json(args.json, {
        "machine": m, "ladder": settings.model_dump(),
        "sources": {label: SOURCES[label].label for label in labels},
        "warmup": args.warmup, "window": args.window, "backlog": args.backlog,
        "in_process": {"figures": in_figures, "runs": in_runs},
        "node": {"figures": node_figures, "runs": node_runs},
    })
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
