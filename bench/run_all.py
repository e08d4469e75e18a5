"""Run every benchmark, repeated, and rewrite bench/RESULTS.md with the medians.

One embedded PostgreSQL/Redis pair (or DATABASE_URL/REDIS_URL from the environment) serves
all of them, so no benchmark pays for starting a database; each benchmark still starts its
own node process per run (the catalog benchmark loads its own scratch database on that
PostgreSQL). The source is encoded before the first benchmark so no figure includes that. About
55 minutes on 2 cores.

    .venv/bin/python -m bench.run_all [--skip NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import chat_fanout, edge_load, vod_transcode, vod_upload
from bench import harness as h

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"

# (name, module, arguments): runs and lengths chosen to fit about half an hour on 2 cores.
PLAN: list[tuple[str, str, list[str]]] = [
    ("first_playlist", "bench.first_playlist", ["--runs", "3", "--reps", "5"]),
    ("ingest_to_part", "bench.ingest_to_part", ["--runs", "3", "--seconds", "30"]),
    # Three runs: where hls.js tunes in varies from run to run and it never catches up, so
    # a median of two could be a latency no viewer saw.
    ("glass_to_glass", "bench.glass_to_glass", ["--runs", "3", "--seconds", "60", "--warmup", "10"]),
    ("passthrough_capacity", "bench.passthrough_capacity", ["--runs", "1", "--window", "12"]),
    ("ladder", "bench.ladder", ["--runs", "3", "--node-runs", "1"]),
    ("whip_glass_to_glass", "bench.whip_glass_to_glass", ["--runs", "3"]),
    # About 3-4 minutes a run: ramps viewers against the edge and nginx in turn.
    ("edge_load", "bench.edge_load", ["--runs", "2"]),
    # About 4-5 minutes a run: two chat nodes and thousands of Socket.IO clients, stepped up
    # until delivery breaks (each step holds its clients for more than one 25 s heartbeat).
    ("chat_fanout", "bench.chat_fanout", ["--runs", "2"]),
    # About 3.5 minutes a run: 21 s of 720p and of 1080p, each transcoded three times (Tributary,
    # ffmpeg with the same x264 settings, ffmpeg with its default threading) at ~0.4-1× real time.
    ("vod_transcode", "bench.vod_transcode", ["--runs", "3"]),
    # About half a minute a run: 512 MiB through tus to local disk and to S3 (moto), and copies.
    ("vod_upload", "bench.vod_upload", ["--runs", "3"]),
    # Last: loading 100,000 videos and 1,000,000 views keeps PostgreSQL busy for a while.
    ("catalog_api", "bench.catalog_api", ["--runs", "3"]),
]


def run_child(module: str, args: list[str], env: dict[str, str]) -> int:
    """Run one benchmark in its own process; on Ctrl-C/SIGTERM pass it on and wait for cleanup."""
    proc = subprocess.Popen([h.PYTHON, "-m", module, *args], cwd=h.REPO, env=env)
    try:
        return proc.wait()
    except BaseException:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        raise


async def services(tmp: Path) -> tuple[Any, dict[str, str]]:
    from tributary.embedded import EmbeddedServices

    embedded = EmbeddedServices()
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = await embedded.start_postgres(tmp)
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = await embedded.start_redis(tmp)
    return embedded, env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=[p[0] for p in PLAN])
    args = parser.parse_args()
    command = "  ".join(["python -m bench.run_all", *sys.argv[1:]])
    m = h.machine()
    started = dt.datetime.now(dt.UTC)
    h.print_header("run_all", m)
    spec = h.SourceSpec()
    h.ensure_source(spec)
    tmp = Path(tempfile.mkdtemp(prefix="tributary-bench-all-"))
    embedded, env = asyncio.run(services(tmp))
    results: dict[str, Any] = {}
    commands: dict[str, str] = {}
    t0 = time.monotonic()
    try:
        for name, module, bench_args in PLAN:
            if name in args.skip:
                continue
            out = tmp / f"{name}.json"
            full = [*bench_args, "--json", str(out)]
            commands[name] = ".venv/bin/python -m " + module + " " + shlex.join(bench_args)
            print(f"\n### {commands[name]}", flush=True)
            code = run_child(module, full, env)
            if code != 0 or not out.is_file():
                print(f"run_all: {name} failed (exit {code})", file=sys.stderr)
                results[name] = {"failed": code}
                continue
            results[name] = json.loads(out.read_text())
        elapsed = time.monotonic() - t0
        RESULTS.write_text(render(m, spec, started, elapsed, command, commands, results))
        print(f"\nwrote {RESULTS} ({elapsed / 60:.1f} min)")
    finally:
        asyncio.run(h.stop_embedded(embedded, tmp))
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all("failed" not in r for r in results.values()) else 1


# ------------------------------------------------------------------------------------ RESULTS.md


def _ms(s: dict[str, float] | None, digits: int = 0) -> str:
    return h.fmt_spread(s, " ms", 1000, digits) if s else "n/a"


def _ms1(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def render(m: h.Machine, spec: h.SourceSpec, started: dt.datetime, elapsed: float, command: str,
           commands: dict[str, str], results: dict[str, Any]) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Rewritten by `.venv/bin/python -m bench.run_all` — do not edit by hand.",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')} ({elapsed / 60:.1f} min)",
        f"- Commit: `{m.commit}`",
        f"- Machine: {m.cores} cores, {m.cpu_model}, {m.memory_gib:.1f} GiB RAM, Linux {m.kernel},"
        f" Python {m.python}, {m.ffmpeg}. The machine is shared: other work may have run too.",
        f"- Command: `{command}` (from the repository root, `.venv/bin/python`)",
        f"- Source (every publisher; encoded once, then copied): {spec.label}",
        "- Figures are medians over runs; the range over runs and the run count follow in"
        " brackets.",
        "",
        "| Benchmark | Figure | Median (min–max over runs) |",
        "| --- | --- | --- |",
    ]
    fp = results.get("first_playlist", {})
    if "figures" in fp:
        f = fp["figures"]
        lines += [
            f"| first playlist ({fp['reps']} fresh streams per run) | first keyframe sent → first"
            f" playable media playlist, median | {_ms(f['median'])} |",
            f"| | same, max | {_ms(f['max'])} |",
            f"| | RTMP connect start → first playable playlist, median | {_ms(f['connect_median'])} |",
        ]
    ip = results.get("ingest_to_part", {})
    if "figures" in ip:
        f = ip["figures"]
        lines += [
            f"| ingest → part ({ip['seconds']:g} s real-time stream per run) | every RTMP message:"
            f" sent → its part fetchable, p50 | {_ms(f['msg_p50'])} |",
            f"| | every message, p95 | {_ms(f['msg_p95'])} |",
            f"| | message completing each part, p50 | {_ms(f['last_p50'])} |",
            f"| | message completing each part, p95 | {_ms(f['last_p95'])} |",
            f"| | next part's first video frame sent → part fetchable, p50 | {_ms(f['closing_p50'])} |",
            f"| | node CPU, one stream + one LL-HLS client | "
            f"{h.fmt_spread(f['node_cpu_pct'], '% of a core', digits=1)} |",
        ]
    gg = results.get("glass_to_glass", {})
    if "figures" in gg:
        f = gg["figures"]
        lines += [
            f"| glass to glass (hls.js, Chromium; {gg['warmup']:g} s warm-up dropped, {gg['seconds']:g} s"
            f" measured per run) | latency p50 | {_ms(f['p50'])} |",
            f"| | latency p95 | {_ms(f['p95'])} |",
            f"| | latency max | {_ms(f['max'])} |",
            f"| | stalls (`waiting` events) after warm-up | {h.fmt_spread(f['stalls'])} |",
            f"| | page open → first frame | {h.fmt_spread(f['time_to_first_frame'], ' s', digits=2)} |",
        ]
    cap = results.get("passthrough_capacity", {})
    if "figures" in cap:
        f = cap["figures"]
        run = cap["runs"][-1]
        lines += [
            f"| passthrough capacity (one node process) | largest healthy N | "
            f"{h.fmt_spread(f['max_healthy_streams'])} streams (first unhealthy:"
            f" {run['first_unhealthy_streams']}) |",
            f"| | node CPU per stream at N={run['moderate_n']} | "
            f"{h.fmt_spread(f['cpu_per_stream_moderate'], '% of a core', digits=2)} |",
            f"| | marginal node CPU per added stream (fit over healthy steps) | "
            f"{h.fmt_spread(f['marginal_cpu_per_stream'], '% of a core', digits=2)} |",
        ]
    lad = results.get("ladder", {})
    for label, f in lad.get("in_process", {}).get("figures", {}).items():
        rungs = "+".join(lad["in_process"]["runs"][0][label]["ladder"]["rungs"])
        lines += [
            f"| ladder, {label} source passed through + {rungs} encoded (in process) | realtime factor |"
            f" {h.fmt_spread(f['realtime_factor'], '×', digits=2)} |",
            f"| | CPU at real time | {h.fmt_spread(f['cores_at_realtime'], ' cores', digits=2)} |",
        ]
        nf = lad.get("node", {}).get("figures", {}).get(label)
        if nf:
            lines.append(f"| ladder, {label} (one node process, real-time publishers) | largest healthy N |"
                         f" {h.fmt_spread(nf['max_healthy_streams'])} streams |")
            lines.append(f"| | node CPU at N=1 | {h.fmt_spread(nf['node_cpu_pct_n1'], '% of a core')} |")
            for key in sorted(k for k in nf if k.endswith("_extra_p50")):
                rung = key.removesuffix("_extra_p50")
                lines.append(f"| | extra latency of {rung} over the passthrough, p50 / p95 |"
                             f" {_ms(nf[key])} / {_ms(nf[f'{rung}_extra_p95'])} |")
    wg = results.get("whip_glass_to_glass", {})
    if "figures" in wg:
        f = wg["figures"]
        lines += [
            f"| WHIP glass to glass (Chromium publish page → hls.js; {wg['warmup']:g} s warm-up,"
            f" {wg['seconds']:g} s measured per run) | latency p50 | {_ms(f['p50'])} |",
            f"| | latency p95 | {_ms(f['p95'])} |",
            f"| | Start → WHIP connected | {h.fmt_spread(f['time_to_connected'], ' s', digits=2)} |",
            f"| | node CPU (WHIP decode + encode, packager, ladder) |"
            f" {h.fmt_spread(f['node_cpu_percent'], '% of a core')} |",
        ]
    lines += _edge_load_rows(results.get("edge_load", {}))
    lines += _chat_fanout_rows(results.get("chat_fanout", {}))
    lines += _vod_transcode_rows(results.get("vod_transcode", {}))
    lines += _vod_upload_rows(results.get("vod_upload", {}))
    api = results.get("catalog_api", {})
    if "figures" in api:
        f = api["figures"]
        lines += [
            f"| catalog API ({api['videos']:,} videos, {api['views']:,} views; one node process) |"
            f" search p50 | {_ms(f['search_p50'], 1)} |",
            f"| | search p95 | {_ms(f['search_p95'], 1)} |",
            f"| | trending p50 | {_ms(f['trending_p50'], 1)} |",
            f"| | trending p95 | {_ms(f['trending_p95'], 1)} |",
            f"| | video page (3 concurrent calls) p50 | {_ms(f['video_page_p50'], 1)} |",
            f"| | video page p95 | {_ms(f['video_page_p95'], 1)} |",
            f"| | `GET /api/v1/videos/{{id}}` | {h.fmt_spread(f['rps'], ' req/s')} |",
        ]
    failed = [name for name, r in results.items() if "failed" in r]
    if failed:
        lines += ["", f"**Failed:** {', '.join(failed)} (see the run's output)."]
    if "runs" in cap:
        lines += [
            "",
            f"## Capacity steps (last run; {cap['warmup']:g} s warm-up + {cap['window']:g} s measured per step)",
            "",
            "\\* = bisection step after the first unhealthy one. CPU in % of one core (the machine has "
            f"{m.cores * 100}%). Stream 0 is the PyAV publisher whose sends are logged; lag is"
            " now − ingest time of the newest media in each stream's playlist.",
            "",
            "| N | node CPU | per stream | node RSS | ffmpeg publishers CPU | bench process CPU |"
            " machine CPU | stream 0 p95 ingest→part | pace | worst live-edge lag | health |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for s in cap["runs"][-1]["steps"]:
            health = "ok" if s["healthy"] else "; ".join(s["reasons"])
            lines.append(
                f"| {s['streams']}{'*' if s['refinement'] else ''} | {s['node_cpu_pct']:.1f}% | {s['cpu_per_stream_pct']:.2f}% |"
                f" {s['node_rss_mib']:.0f} MiB | {s['ffmpeg_cpu_pct']:.1f}% | {s['bench_cpu_pct']:.1f}% |"
                f" {s['machine_cpu_pct']:.1f}% | {h.ms(_num(s['p95']))} | {_num(s['pace']):.3f} |"
                f" {_num(s['worst_lag']):.2f} s | {health} |")
    if "runs" in gg:
        lines += ["", "## Glass to glass, per run", "",
                  "| run | p50 | p95 | max | stalls | stalled s | hls.js latency at end | hls.js target |"
                  " buffered ahead at end | dropped frames |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for i, r in enumerate(gg["runs"], 1):
            lines.append(
                f"| {i} | {h.ms(_num(r['p50']))} | {h.ms(_num(r['p95']))} | {h.ms(_num(r['max']))} |"
                f" {r['stalls']} | {r['stall_seconds']:.2f} | {_num(r['hls_latency_end']):.2f} s |"
                f" {_num(r['hls_target_latency']):.2f} s | {_num(r.get('forward_buffer_end')):.2f} s |"
                f" {r['dropped_frames']}/{r['decoded_frames']} |")
    lines += _edge_load_section(results.get("edge_load", {}))
    lines += _chat_fanout_section(results.get("chat_fanout", {}))
    lines += _vod_transcode_section(results.get("vod_transcode", {}))
    lines += _vod_upload_section(results.get("vod_upload", {}))
    if "runs" in api:
        am = api["machine"]
        lines += [
            "",
            "## Catalog API, per run",
            "",
            f"{api['videos']:,} videos ({api['listed']:,} listed) and {api['views']:,} views loaded with COPY"
            f" in {api['load_seconds']:.0f} s, then a full trending refresh in"
            f" {api['refresh_seconds'] * 1000:.0f} ms; a fresh node process per run over the same data."
            f" Machine: {am['cores']} cores, {am['cpu_model']}, {am['memory_gib']:.1f} GiB RAM"
            " (shared with the load generator and PostgreSQL).",
            "",
            "| run | search p50 | search p95 | trending p50 | trending p95 | video page p50 |"
            " video page p95 | `GET /videos/{id}` | load tool | node CPU |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for i, r in enumerate(api["runs"], 1):
            lines.append(
                f"| {i} | {_ms1(r['search']['p50'])} | {_ms1(r['search']['p95'])} |"
                f" {_ms1(r['trending']['p50'])} | {_ms1(r['trending']['p95'])} |"
                f" {_ms1(r['video_page']['p50'])} | {_ms1(r['video_page']['p95'])} |"
                f" {r['rps']:.0f} req/s | {r['rps_tool']} | {r['node_cpu_seconds']:.1f} s |")
        lines += ["", "Search plans on this data (first page, no filters):", ""]
        lines += [f"- {label}: {summary}" for label, summary in api.get("plans", {}).items()]
    lines += [
        "",
        "## How each figure is measured",
        "",
        "- The node runs as its own process (`python -m tributary serve origin`); its CPU is its"
        " own user+system time from `/proc` over the window, all threads included.",
        "- Publish send times are logged by a PyAV (libavformat RTMP) publisher at the moment"
        " each FLV tag is written to the socket; libavformat's interleaver holds each packet until"
        " the next is muxed, which the log accounts for.",
        "- A part's availability is the arrival of the blocking playlist reload"
        " (`_HLS_msn`/`_HLS_part`) that first lists it; messages map to parts by the decode-time"
        " ranges read from each part's `tfdt`/`trun`.",
        "- Glass to glass is the watch page's own `window.tributary.latencySamples`"
        " (now − hls.js `playingDate`). PROGRAM-DATE-TIME is the ingest wall clock, so this is"
        " media arriving at the node → on screen: publisher-send → screen minus the publisher-side"
        " delay, which on loopback is negligible. The page runs hls.js with its defaults"
        " (`maxLiveSyncPlaybackRate` 1: it never speeds up), so it keeps the distance from the"
        " live edge it tuned in at; the per-run table shows hls.js's own latency against its"
        " target (PART-HOLD-BACK) and how much media it had buffered ahead.",
        "- The node runs with its default ABR ladder (a 720p source gets 480p and 360p encoded)"
        " except in the passthrough capacity benchmark, which turns it off to price the"
        " passthrough path alone. `bench/ladder.py` prices the ladder: in process through the"
        " real `Transcoder` as fast as it goes, and on a node with N real-time publishers"
        " (healthy: nothing shed, every rendition's live edge ≤ 1.5 s and pace ≥ 0.95); a rung's"
        " extra latency pairs parts by MSN and video start (the renditions are aligned).",
        "- WHIP glass to glass: one Chromium publishes a canvas that draws `Date.now()` as a"
        " pixel pattern through the `/publish` page; the `/watch` page decodes the pattern of the"
        " frame on screen, so the figure is canvas → WebRTC → node encode → LL-HLS → screen.",
        "- Catalog API: requests from the benchmark process over loopback to a node process"
        " (`bench/catalog_api.py` has the data and query mix): search 300 requests one at a time"
        " (common, rare, two-word, phrase and typo queries, filters, the three sorts); trending"
        " 200 (first and second pages); a video page is the video, its channel and the viewer's"
        " reaction fetched concurrently, timed to the slowest, for 200 listed videos;"
        " `GET /api/v1/videos/{id}` throughput is `wrk` (1 thread, 64 connections, 10 s) or, without"
        " it, an aiohttp client with 64 requests in flight, over 1,000 listed videos.",
        "- Edge under LL-HLS load (`bench/edge_load.py`): Python viewers that behave like hls.js"
        " in low-latency mode (blocking playlist reload for the next part, the preload-hinted part"
        " requested as soon as each playlist arrives, delta playlists) against one edge process"
        " pinned to one core, then against Debian's nginx (proxy_cache, proxy_cache_lock, keyed"
        " on the path and the three Delivery Directives, one worker on the same core). A part's"
        " publication is when a probe's blocking reload held directly at the origin was answered;"
        " delivery is when a viewer had the part's last byte. Origin fetches are the edge's"
        " `tributary_edge_origin_fetches_total` and nginx's upstream-only access log, per part"
        " published in the window. nginx wakes requests waiting on `proxy_cache_lock` on a"
        " 500 ms timer, not when the fetch lands, which sets its latency.",
        CHAT_MEASURES,
        *VOD_MEASURES,
        "",
        "## Commands",
        "",
        *[f"- `{c}`" for c in commands.values()],
        "",
    ]
    return "\n".join(lines)


def _edge_load_rows(el: dict[str, Any]) -> list[str]:
    """Headline rows of bench/edge_load.py: the edge's viewer capacity and nginx beside it."""
    if "figures" not in el:
        return []
    f = el["figures"]
    lines = [
        f"| edge under LL-HLS load (one edge process on one core; one stream, 200 ms parts;"
        f" hls.js-like viewers) | largest viewer count with p99 part delivery ≤ 100 ms after"
        f" publication at the origin, no errors |"
        f" {edge_load.capacity_text(f['max_viewers'], f['max_viewers_lower_bound'])} viewers |",
        f"| | origin fetches per part at that count |"
        f" {h.fmt_spread(f['origin_fetches_per_part'], digits=2)} |",
        f"| | edge CPU at that count | {h.fmt_spread(f['edge_cpu_pct_at_max'], '% of its core')} |",
        f"| | edge CPU per 100 viewers (1,000 requests/s) |"
        f" {h.fmt_spread(f['edge_cpu_pct_per_100_viewers'], '% of a core', digits=1)} |",
        f"| | {el['nginx']} (proxy_cache + proxy_cache_lock, same core, same viewers): largest"
        f" such count | {h.fmt_spread(f['nginx_max_viewers'])} viewers |",
        f"| | nginx origin fetches per part at the edge's count |"
        f" {h.fmt_spread(f['nginx_origin_fetches_per_part'], digits=2)} |",
    ]
    runs = len(el["runs"])
    healthy = [s for s in el["steps"] if s["tributary"]["healthy_runs"] == s["runs"] == runs]
    if healthy:
        s = healthy[-1]
        lines.append(
            f"| | at {s['viewers']} viewers, Tributary / nginx: req/s, p99 part delivery |"
            f" {h.fmt_spread(s['rps_ratio'], '×', digits=2)},"
            f" {h.fmt_spread(s['p99_ratio'], '×', digits=2)} |")
    return lines


def _edge_load_section(el: dict[str, Any]) -> list[str]:
    if "steps" not in el:
        return []
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in el["runs"])
    return [
        "",
        f"## Edge under LL-HLS load, per step (medians of {len(el['runs'])} runs;"
        f" {el['ramp']:g} s join + {el['warmup']:g} s warm-up + {el['window']:g} s measured per step"
        " and server)",
        "",
        f"Measured {el['started']} on commit `{el['machine']['commit']}`."
        f" The server under test (edge, then {el['nginx']}) had core {el['cores']['server']} to itself"
        f" as far as this benchmark goes; the origin, publisher, probe and {el['generators']}"
        f" Python load generator process(es) ran on core(s) {el['cores']['load']}. Load average"
        f" before each run: {loads}. Each count is summarised over the runs that measured it"
        " (the bisection step differs between runs). *Stalled parts* reached even their first"
        " viewer more than 100 ms late (in brackets: while no generator lagged, so the server's);"
        " *run-queue wait* is the time the server was runnable but another process had its core"
        " (the machine is shared); a generator loop lag near the p99 means the generator, not the"
        " server, set the figure. Ratios are Tributary / nginx.",
        "",
        *edge_load.step_table(el["steps"]),
    ]


def _chat_fanout_rows(cf: dict[str, Any]) -> list[str]:
    """Headline rows of bench/chat_fanout.py: fan-out latency and clients held, two chat nodes."""
    if "figures" not in cf:
        return []
    f = cf["figures"]
    first = ", ".join("none" if n is None else str(n) for n in f["first_unhealthy"])
    lines = [
        f"| chat (two `serve chat` nodes, one live room; browser-like Socket.IO clients: WebSocket,"
        f" permessage-deflate{' offered' if cf['deflate'] else ' not offered'}, {cf['ping_interval']:g} s"
        f" heartbeat) | fan-out at {cf['rate']:g} messages/s: largest client count (both nodes,"
        f" half on each) with every client staying, every message delivered, p99 ≤ 100 ms |"
        f" {chat_fanout.capacity_text(f['max_clients'], f['max_clients_lower_bound'])} clients"
        f" (first unhealthy: {first}) |",
        f"| | delivery p50 / p99 at that count | {_ms(f['at_max_p50'])} / {_ms(f['at_max_p99'])} |",
        f"| | p99 on the sender's node / on the other node (through Redis) |"
        f" {_ms(f['at_max_local_p99'])} / {_ms(f['at_max_remote_p99'])} |",
        f"| | CPU of the busier node at that count |"
        f" {h.fmt_spread(f['at_max_node_cpu_pct'], '% of a core')} |",
        f"| | node CPU per delivery (one message to one client) |"
        f" {h.fmt_spread(f['at_max_us_per_delivery'], ' µs', digits=1)} |",
    ]
    if "max_held" in f:
        unheld = ", ".join("none" if n is None else str(n) for n in f["first_unheld"])
        lines += [
            f"| | clients held (both nodes, half on each; joined, connected and pinged through"
            f" {cf['hold']:g} s, nobody sending) | {chat_fanout.capacity_text(f['max_held'], f['max_held_lower_bound'])}"
            f" clients (first not held: {unheld}) |",
            f"| | node RSS per 1,000 clients held | {h.fmt_spread(f['held_rss_mib_per_1000'], ' MiB')} |",
            f"| | node CPU holding them (heartbeats only), busier node |"
            f" {h.fmt_spread(f['held_node_cpu_pct'], '% of a core', digits=1)} |",
        ]
    return lines


def _chat_fanout_section(cf: dict[str, Any]) -> list[str]:
    if "steps" not in cf:
        return []
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in cf["runs"])
    lines = [
        "",
        f"## Chat, per step (medians of {len(cf['runs'])} runs)",
        "",
        f"Measured {cf['started']} on commit `{cf['machine']['commit']}`; {cf['machine']['cores']}"
        f" cores shared by both chat nodes, Redis and {cf['generators']} Python load generator"
        f" processes. Load average before each run: {loads}. Clients offer permessage-deflate"
        f"{'' if cf['deflate'] else ' (not: --no-deflate)'} and answer every ping (interval"
        f" {cf['ping_interval']:g} s).",
        "",
        f"Fan-out: fresh nodes per step; N clients in the room ({cf['senders']} of them signed-in"
        f" senders, one message a second each), half on each node; {cf['window']:g} s measured per"
        " step. Latency is over every (message, client) pair: *same node* for clients on the"
        " sender's node, *other node* for those reached through Redis; *send → stored* ends at the"
        " message's Redis timestamp, *stored → arrival* is the rest. µs per delivery: the busier"
        " node's CPU over the window ÷ messages × its clients. *Others*: CPU of processes outside"
        " the benchmark (the machine is shared).",
        "",
        *chat_fanout.step_table(cf["steps"]),
    ]
    if cf.get("stages"):
        lines += [
            "",
            f"Held: one pair of fresh nodes, clients added stage by stage, each stage held"
            f" {cf['hold']:g} s with nobody sending (every client must be pinged and answer inside"
            " it). RSS per 1000 clients: (RSS − the fresh node's RSS) per 1000 of its clients.",
            "",
            *chat_fanout.hold_table(cf["stages"]),
        ]
    return lines


CHAT_MEASURES = (
    "- Chat (`bench/chat_fanout.py`, with `bench/chat_clients.py` and `bench/socketio_client.py`"
    " as the load generator): two `serve chat` nodes sharing Redis and PostgreSQL, N clients in"
    " one live room split evenly between them, speaking Engine.IO 4 / Socket.IO 5 over WebSocket"
    " as a browser does (permessage-deflate offered, every ping answered). Fan-out: M signed-in"
    " senders at one message a second each (under the default limit); each message's text carries"
    " its send time (CLOCK_MONOTONIC), every client computes send → arrival. A step is healthy"
    " when every client joined and stayed, every message sent in the window reached every client"
    " within 3 s, p99 ≤ 100 ms and no send was refused; the ramp stops at the first unhealthy"
    " step after one bisection step. Held: nobody sends; a stage is held when every client"
    " joined, stayed connected and was pinged and answered during the hold (longer than the ping"
    " interval)."
)


VOD_MEASURES = [
    "- VOD transcode (`bench/vod_transcode.py`): generated sources with real motion, detail and"
    " grain (a pan over a texture, a rotating close-up, `testsrc2`; cached), transcoded with the"
    " default `TranscodeSettings()` by `vod.transcode.pipeline.transcode_video` on a real catalog"
    " and local storage (end to end: source copied to scratch, niced child, every output stored,"
    " catalog transaction), and by one Debian `ffmpeg` process making the same ladder from the same"
    " plan (`plan_transcode`): rungs, preset, B-frames, bitrates, VBV, GOP, keyframes forced every"
    " segment, scene-cut off, bilinear scaling in one thread, AAC with `aresample=async=1`, HLS fMP4"
    " segments with an audio group, poster, thumbnails and storyboard. PyAV opens x264 with sliced"
    " threads, so the *same settings* ffmpeg run passes `-thread_type slice`; the *default threading*"
    " run leaves ffmpeg's frame threads. Both at the transcode's niceness (+10); CPU includes the"
    " child processes. Ratios are Tributary's wall time over ffmpeg's.",
    "- VOD upload (`bench/vod_upload.py`): one random file through tuspy (8 MiB PATCHes) into a"
    " `serve origin` node (no job worker, so nothing transcodes), timed from the first PATCH to the"
    " video turning `processing` (received, fsynced, handed to storage); local storage on the same"
    " file system, or S3 on moto's server (its own process, loopback). Baselines in every run:"
    " `shutil.copyfile` of the same file on the same disk (to its return, and until fsynced), and"
    " for S3 aioboto3's managed `upload_file` and a part-at-a-time multipart upload to the same"
    " moto. Ratios are throughputs, Tributary ÷ baseline; measurements go in an order rotated from"
    " run to run, each starting with no dirty pages and the source file in the page cache.",
]


def _vod_transcode_rows(vt: dict[str, Any]) -> list[str]:
    """Headline rows of bench/vod_transcode.py: × real time of each side, the ratios."""
    lines = []
    for label, f in vt.get("figures", {}).items():
        ladder = "+".join(rung.split()[0] for rung in vt["ladders"][label])
        lines += [
            f"| VOD transcode, {label} source → {ladder} + audio + pictures (default transcode"
            f" settings) | Tributary (`transcode_video`, end to end), × real time |"
            f" {h.fmt_spread(f['tributary_realtime_factor'], '×', digits=2)} |",
            f"| | ffmpeg, same x264 settings (sliced threads), × real time |"
            f" {h.fmt_spread(f['ffmpeg_same_realtime_factor'], '×', digits=2)} |",
            f"| | Tributary time ÷ ffmpeg time, same settings |"
            f" {h.fmt_spread(f['ratio_ffmpeg_same'], digits=2)} |",
            f"| | ffmpeg, default threading (frame threads), × real time |"
            f" {h.fmt_spread(f['ffmpeg_default_realtime_factor'], '×', digits=2)} |",
            f"| | Tributary time ÷ ffmpeg time, default threading |"
            f" {h.fmt_spread(f['ratio_ffmpeg_default'], digits=2)} |",
            f"| | CPU, Tributary / ffmpeg same / ffmpeg default |"
            f" {h.fmt_spread(f['tributary_cpu_s'], ' s', digits=1)} /"
            f" {h.fmt_spread(f['ffmpeg_same_cpu_s'], ' s', digits=1)} /"
            f" {h.fmt_spread(f['ffmpeg_default_cpu_s'], ' s', digits=1)} |",
        ]
    return lines


def _vod_transcode_section(vt: dict[str, Any]) -> list[str]:
    if "runs" not in vt:
        return []
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in vt["runs"])
    lines = [
        "",
        f"## VOD transcode, per run ({len(vt['runs'])} runs)",
        "",
        f"Measured {vt['started']} on commit `{vt['machine']['commit']}`; load average before each"
        f" run: {loads} (it still counts the encoders of the run before). Sides run in a rotating"
        " order. *Others* is CPU that processes other than the benchmark and what it started took"
        " meanwhile (the machine is shared). Peak threads:"
        " the most threads the transcoding process had (Tributary's child, ffmpeg).",
        "",
    ]
    lines += [f"- {label}: {source}; ladder {', '.join(vt['ladders'][label])}"
              for label, source in vt["sources"].items()]
    first = vt["runs"][0]
    for label in vt["sources"]:
        x264 = {side: first[label][side]["x264"] for side in vod_transcode.SIDES}
        lines.append(f"- x264 threading, {label}: " + "; ".join(
            f"{vod_transcode.SIDE_LABELS[side]}: {vod_transcode.thread_options(x264[side])}"
            for side in vod_transcode.SIDES) + ". Other x264 options differing, Tributary vs ffmpeg"
            " same settings: " + (", ".join(f"{k} {a} vs {b}" for k, (a, b) in vod_transcode.differing(
                x264["tributary"], x264[vod_transcode.FFMPEG_SAME]).items()) or "none"))
    lines += [
        "",
        "| source | run | side | wall | × real time | CPU (child + this process) | cores busy |"
        " peak threads | top rendition | others |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in vt["sources"]:
        top = vt["ladders"][label][0].split()[0]
        for i, run in enumerate(vt["runs"], 1):
            for side in vod_transcode.SIDES:
                r = run[label][side]
                lines.append(
                    f"| {label} | {i} | {vod_transcode.SIDE_LABELS[side]} | {r['wall_s']:.2f} s |"
                    f" {r['realtime_factor']:.2f}× | {r['child_cpu_s']:.1f} + {r['parent_cpu_s']:.1f} s |"
                    f" {r['cores_busy']:.2f} | {r['peak_threads']} |"
                    f" {vod_transcode.top_kbps(r, top):.0f} kb/s | {r['others_cpu_pct']:.0f}% |")
    steps = ", ".join(f"{label} {h.fmt_spread(f['pictures_step_s'], ' s', digits=2)}"
                      for label, f in vt["figures"].items())
    label = next(iter(vt["sources"]))
    command = first[label][vod_transcode.FFMPEG_SAME]["command"]
    lines += [
        "",
        f"Tributary's pictures step (poster, thumbnails, storyboard; the ffmpeg runs make the same"
        f" pictures): {steps}. The {label} ffmpeg command, same settings (OUT: the run's output directory):",
        "",
        "```",
        command,
        "```",
    ]
    return lines


def _vod_upload_rows(vu: dict[str, Any]) -> list[str]:
    """Headline rows of bench/vod_upload.py: MB/s through tus and the ratios to plain copies."""
    if "figures" not in vu:
        return []
    f = vu["figures"]
    lines = []
    for target in vu["targets"]:
        where = "local disk" if target == "local" else "S3 (moto on loopback)"
        lines.append(f"| | tus → {where}, MB/s | {h.fmt_spread(f[f'{target}_mb_s'], ' MB/s')} |")
        lines += [f"| | … ÷ {vod_upload.LABELS[base]} (median {f[f'{base}_mb_s']['median']:.0f} MB/s) |"
                  f" {h.fmt_spread(f[f'{target}_ratio_{base}'], digits=2)} |"
                  for base in vod_upload.BASELINES[target]]
    group = (f"| VOD upload, {vu['mib']} MiB (tuspy, {vu['chunk_mib']} MiB PATCHes → one node; first"
             " byte → `processing`) |")
    return [group + lines[0][3:], *lines[1:]]


def _vod_upload_section(vu: dict[str, Any]) -> list[str]:
    if "runs" not in vu:
        return []
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in vu["runs"])
    lines = [
        "",
        f"## VOD upload, per run ({vu['mib']} MiB of random bytes, MB/s = 10^6 bytes/s)",
        "",
        f"Measured {vu['started']} on commit `{vu['machine']['commit']}`; load average before each"
        f" run: {loads}. *Receive*: first PATCH sent → last PATCH answered (every byte fsynced, its"
        " offset committed); *hand-over*: last PATCH answered → video `processing` (the staged file"
        " copied into storage). CPU in seconds over the upload: node process / tus client (this"
        " process) / moto.",
        "",
        "| run | copy | copy + fsync | tus → local | receive, hand-over | CPU | tus → S3 |"
        " receive, hand-over | CPU | aioboto3 upload_file | aioboto3 part by part |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def tus(r: dict[str, Any], target: str) -> list[str]:
        t = r.get(f"{target}_tus")
        if t is None:
            return ["", "", ""]
        cpu = f"{t['node_cpu_s']:.1f} / {t['client_cpu_s']:.1f}"
        cpu += f" / {t['moto_cpu_s']:.1f} s" if "moto_cpu_s" in t else " s"
        return [f"{t['mb_s']:.0f} MB/s", f"{t['receive_mb_s']:.0f} MB/s, {t['hand_over_s']:.2f} s", cpu]

    for i, r in enumerate(vu["runs"], 1):
        s3 = [f"{r[n]['mb_s']:.0f} MB/s" if n in r else ""
              for n in ("aioboto3_managed", "aioboto3_sequential")]
        cells = [str(i), f"{r['copy']['mb_s']:.0f} MB/s", f"{r['copy_fsync']['mb_s']:.0f} MB/s",
                 *tus(r, "local"), *tus(r, "s3"), *s3]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


if __name__ == "__main__":
    raise SystemExit(main())
