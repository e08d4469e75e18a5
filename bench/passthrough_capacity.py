"""Passthrough capacity: node CPU per 720p30 stream, and how many one node carries in real time.

The node runs with its ABR ladder off (``live.ladder.heights = []``): this prices the
passthrough path (ingest, remux, LL-HLS, recording); ``bench.ladder`` prices the encoded rungs.

Publishers are added in steps (N = 1, 2, 4, 8, …) against one node, all real time, all copy:
stream 0 is the PyAV publisher (it logs every send, so its ingest-to-part latency can be
measured as in bench/ingest_to_part.py), the others are ``ffmpeg -re -stream_loop -1 … -c copy``.
At each step, after a warm-up, the node process's CPU time is read over the measurement window
(% of one core; 100 % × cores is the whole machine), together with the CPU of the ffmpeg
publishers and of this process (PyAV publisher + observer), which share the same cores.

Health at each step:
- stream 0's p95 ingest-to-part latency (blocking-reload observer) ≤ ``--max-p95`` (1 s);
- stream 0's parts arrive at the pace of media time (media s per wall s ≥ 0.95);
- every stream's live edge (now − PDT of its newest listed media) ≤ 1 s at the window's end;
- every publisher is still connected.
Ramping stops at the first unhealthy step, or when the node uses more than 90 % of the
machine; then ``--refine`` bisection steps (marked * in the output) narrow the limit between
the last healthy and the first unhealthy N, and the largest healthy N is reported. One node is one Python process: the figure is
what one process carries, not what the machine could with several nodes.

    .venv/bin/python -m bench.passthrough_capacity [--runs 1] [--max-streams 128] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time

import psutil

from bench import harness as h

LAG_LIMIT_S = 1.0
PACE_MIN = 0.95


async def one_run(source: h.LoadedSource, levels: list[int], warmup: float, window_s: float,
                  max_p95: float, refine: int) -> dict[str, object]:
    steps: list[dict[str, object]] = []
    async with h.BenchEnv("capacity") as env:
        assert env.http is not None
        node = await env.start_node(ladder__heights="[]")  # passthrough only: bench.ladder prices rungs
        name, key = await env.new_stream("cap")
        urls = [f"{node.http}/live/{name}/source/index.m3u8"]
        observer = h.PartObserver(env.http, urls[0])
        stop = asyncio.Event()
        observing = asyncio.ensure_future(observer.run(stop))
        sampled = env.pyav_publisher(f"{node.rtmp}/{key}", source)
        sampled.start()
        await sampled.wait_connected()
        ffmpegs: list[h.FfmpegPublisher] = []

        async def set_streams(n: int) -> None:
            new_urls = []
            while len(ffmpegs) + 1 < n:
                stream, stream_key = await env.new_stream("cap")
                ffmpegs.append(env.ffmpeg_publisher(f"{node.rtmp}/{stream_key}", source.path))
                new_urls.append(f"{node.http}/live/{stream}/source/index.m3u8")
            while len(ffmpegs) + 1 > n:  # refining downwards: the newest publishers leave
                ffmpegs.pop().stop()
                urls.pop()
            await asyncio.gather(*(h.wait_live(env.http, u, timeout=30) for u in new_urls))
            urls.extend(new_urls)

        async def step(n: int, settle: float, refining: bool) -> bool:
            await set_streams(n)
            await asyncio.sleep(settle)
            result = await measure(env, node, sampled, observer, ffmpegs, urls, window_s, max_p95)
            result["refinement"] = refining
            steps.append(result)
            print(_step_line(result), flush=True)
            return bool(result["healthy"])

        try:
            good, bad = 0, None
            for n in levels:
                if not await step(n, warmup, False):
                    bad = n
                    break
                good = n
            # Bisect between the last healthy and the first unhealthy N. Going down after an
            # overload needs longer to drain the backlog, hence twice the warm-up.
            for _ in range(refine if bad is not None else 0):
                mid = (good + bad) // 2
                if mid <= good:
                    break
                if await step(mid, 2 * warmup, True):
                    good = mid
                else:
                    bad = mid
        finally:
            stop.set()
            await sampled.stop()
            for f in ffmpegs:
                f.stop()
            await observing
        problems = env.stop_node(node)
        ffmpeg_errors = [e for e in (f.errors() for f in env.ffmpeg_publishers) if e]
    healthy = [s for s in steps if s["healthy"]]
    moderate = [s for s in healthy if s["streams"] <= 8 and not s["refinement"]]
    return {
        "steps": steps,
        "max_healthy_streams": good,
        "first_unhealthy_streams": bad,
        "cpu_per_stream_moderate": moderate[-1]["cpu_per_stream_pct"] if moderate else math.nan,
        "moderate_n": moderate[-1]["streams"] if moderate else 0,
        "marginal_cpu_per_stream": _marginal_cpu([s for s in healthy if not s["refinement"]]),
        "node_problems": problems[:50], "node_problem_count": len(problems),
        "ffmpeg_errors": ffmpeg_errors[:10],
    }


async def measure(env: h.BenchEnv, node: h.NodeProcess, sampled: h.PyAvPublisher,
                  observer: h.PartObserver, ffmpegs: list[h.FfmpegPublisher], urls: list[str],
                  window_s: float, max_p95: float) -> dict[str, object]:
    """One measurement window at the current N: CPU of everyone, then the health checks."""
    assert env.http is not None
    cores = psutil.cpu_count() or 1
    n = len(ffmpegs) + 1
    procs = [psutil.Process(f.proc.pid) for f in ffmpegs]
    me = psutil.Process()
    errors_before = len(observer.errors)
    t0 = time.monotonic()
    cpu0 = (node.cpu_seconds(), sum(h.process_cpu_seconds(p) for p in procs),
            h.process_cpu_seconds(me), h.machine_busy_seconds())
    await asyncio.sleep(window_s)
    t1 = time.monotonic()
    cpu1 = (node.cpu_seconds(), sum(h.process_cpu_seconds(p) for p in procs),
            h.process_cpu_seconds(me), h.machine_busy_seconds())
    lags = await asyncio.gather(*(h.live_edge_lag(env.http, u) for u in urls),
                                return_exceptions=True)
    lag_values = [x if isinstance(x, float) else math.nan for x in lags]
    await asyncio.sleep(0.5)  # let the observer's part fetches for the window finish
    latency = h.ingest_to_part(sampled.sent, observer.parts, (t0, t1)).summary()
    pace = h.part_pace(observer.parts, (t0, t1))
    pct = [100 * (b - a) / (t1 - t0) for a, b in zip(cpu0, cpu1)]
    alive = sum(f.alive for f in ffmpegs) + int(sampled.running)
    unavailable = sum(1 for x in lag_values if math.isnan(x))
    worst_lag = max((x for x in lag_values if not math.isnan(x)), default=math.nan)
    reasons = []
    if pct[0] > 90 * cores:
        reasons.append(f"node CPU {pct[0]:.0f}% > 90% of {cores} cores")
    if not latency["msg_p95"] <= max_p95:
        reasons.append(f"stream 0 p95 ingest→part {h.ms(latency['msg_p95'])} > {max_p95:g} s"
                       f" ({latency['parts']} timed parts, {latency['parts_inexact']} arrived in bursts)")
    if not pace >= PACE_MIN:
        reasons.append(f"stream 0 parts at {pace:.3f}× real time")
    if not worst_lag <= LAG_LIMIT_S:
        behind = sum(1 for x in lag_values if x > LAG_LIMIT_S)
        reasons.append(f"{behind}/{n} streams' live edge > {LAG_LIMIT_S:g} s behind (worst {worst_lag:.2f} s)")
    if unavailable:
        reasons.append(f"{unavailable}/{n} playlists did not answer 200")
    if alive < n:
        reasons.append(f"{n - alive} publishers disconnected")
    return {
        "streams": n, "node_cpu_pct": pct[0], "cpu_per_stream_pct": pct[0] / n,
        "ffmpeg_cpu_pct": pct[1], "bench_cpu_pct": pct[2], "machine_cpu_pct": pct[3],
        "cores": cores, "node_rss_mib": node.rss_mib(), "p50": latency["msg_p50"],
        "p95": latency["msg_p95"], "last_p95": latency["last_p95"], "pace": pace,
        "worst_lag": worst_lag, "median_lag": h.percentile([x for x in lag_values if not math.isnan(x)], 50),
        "playlists_unavailable": unavailable,
        "parts": latency["parts"], "parts_inexact": latency["parts_inexact"],
        "observer_errors": observer.errors[errors_before:][:5],
        "healthy": not reasons, "reasons": reasons,
    }


def _step_line(s: dict[str, object]) -> str:
    n = s["streams"]
    return (f"  N={n:3d}{'*' if s['refinement'] else ' '}: node {s['node_cpu_pct']:6.1f}%"
            f" ({s['cpu_per_stream_pct']:5.2f}%/stream, {s['node_rss_mib']:.0f} MiB)"
            f" | ffmpeg {s['ffmpeg_cpu_pct']:5.1f}% | bench {s['bench_cpu_pct']:5.1f}%"
            f" | machine {s['machine_cpu_pct']:5.1f}% of {100 * s['cores']}%"
            f" | stream 0 p50 {h.ms(s['p50'])} p95 {h.ms(s['p95'])} pace {s['pace']:.3f}"
            f" | live-edge lag median {s['median_lag']:.2f} s worst {s['worst_lag']:.2f} s"
            f" | {'healthy' if s['healthy'] else 'UNHEALTHY: ' + '; '.join(s['reasons'])}")


def _marginal_cpu(steps: list[dict[str, object]]) -> float:
    """Least-squares slope of node CPU% over N: the cost of one more stream, idle cost excluded."""
    if len(steps) < 2:
        return math.nan
    xs = [float(s["streams"]) for s in steps]
    ys = [float(s["node_cpu_pct"]) for s in steps]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else math.nan


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--max-streams", type=int, default=128)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after each step's ramp")
    parser.add_argument("--window", type=float, default=15.0, help="measurement seconds per step")
    parser.add_argument("--max-p95", type=float, default=1.0, help="healthy p95 ingest→part, s")
    parser.add_argument("--refine", type=int, default=2,
                        help="bisection steps between the last healthy and first unhealthy N")
    parser.add_argument("--json", help="write the figures here (for run_all)")
    args = parser.parse_args()
    m = h.machine()
    h.print_header("passthrough capacity", m)
    spec = h.SourceSpec()
    source = h.load_source(h.ensure_source(spec), spec)
    levels = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512) if n <= args.max_streams]
    print(f"source: {spec.label} ({source.bitrate_kbps:.0f} kb/s); steps {levels}; "
          f"{args.warmup:g} s warm-up + {args.window:g} s measured per step")
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", flush=True)
        r = await one_run(source, levels, args.warmup, args.window, args.max_p95, args.refine)
        runs.append(r)
        print(f"  largest healthy N: {r['max_healthy_streams']} (first unhealthy:"
              f" {r['first_unhealthy_streams']}); node CPU per stream at N="
              f"{r['moderate_n']}: {r['cpu_per_stream_moderate']:.2f}% of a core; marginal "
              f"{r['marginal_cpu_per_stream']:.2f}% per added stream")
        for line in r["node_problems"][:10] + r["ffmpeg_errors"]:
            print(f"  ! {line[:300]}")
        if r["node_problem_count"] > 10:
            print(f"  ! … {r['node_problem_count'] - 10} more node warnings")
    figures = {
        "max_healthy_streams": h.spread([float(r["max_healthy_streams"]) for r in runs]),
        "cpu_per_stream_moderate": h.spread([r["cpu_per_stream_moderate"] for r in runs]),
        "marginal_cpu_per_stream": h.spread([r["marginal_cpu_per_stream"] for r in runs]),
    }
    print(h.machine().line())
    print(f"largest healthy N: {h.fmt_spread(figures['max_healthy_streams'])} streams; node CPU per"
          f" stream {h.fmt_spread(figures['cpu_per_stream_moderate'], '%', digits=2)} of a core at"
          f" N={runs[-1]['moderate_n']}, marginal {h.fmt_spread(figures['marginal_cpu_per_stream'], '%', digits=2)}")
    h.write_json(args.json, {"machine": m, "source": spec.label, "levels": levels,
                             "warmup": args.warmup, "window": args.window,
                             "figures": figures, "runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
