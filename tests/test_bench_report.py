"""bench/report/: stored benchmark results → RESULTS.md and the README's headline block.

The result dicts below have the shapes the benchmarks' ``--json`` writers produce (the keys
``bench/*.py`` put in ``h.write_json``, spreads from ``h.spread``, edge and chat aggregated by
their own ``aggregate``), with small figures close to the real ones, so a renamed key in a
benchmark or in the renderer shows up here instead of an hour into ``run_all``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bench import chat_fanout, edge_load, report, run_all, vod_transcode
from bench import harness as h

MACHINE = h.Machine(cores=2, memory_gib=23.5, cpu_model="AMD EPYC", kernel="6.1.0", python="3.11.7",
                    ffmpeg="ffmpeg version 5.1.9-0+deb12u1", commit="dfcb658")
SOURCE = h.SourceSpec().label
RUN_STARTED = dt.datetime(2026, 11, 21, 12, 13, tzinfo=dt.UTC)
NAMES = run_all.NAMES


def spread(*values: float) -> dict[str, float]:
    return h.spread(list(values))


def first_playlist() -> dict[str, Any]:
    runs = [{"median": v, "max": v + 0.002, "min": v - 0.002, "connect_median": 0.395, "connect_max": 0.4,
             "samples": [{"from_keyframe": v, "from_connect": 0.395, "connect": 0.17}], "node_problems": []}
            for v in (0.226, 0.225, 0.227)]
    return {"machine": dataclasses.asdict(MACHINE), "source": SOURCE, "reps": 5,
            "figures": {"median": spread(0.226, 0.225, 0.227), "max": spread(0.228, 0.227, 0.229),
                        "connect_median": spread(0.395, 0.393, 0.396)}, "runs": runs}


def ingest_to_part() -> dict[str, Any]:
    figures = {"msg_p50": spread(0.151, 0.152), "msg_p95": spread(0.238, 0.240),
               "last_p50": spread(0.056), "last_p95": spread(0.065), "msg_max": spread(0.3),
               "last_max": spread(0.09), "closing_p50": spread(0.045), "closing_p95": spread(0.06),
               "node_cpu_pct": spread(41.7, 43.6)}
    return {"machine": dataclasses.asdict(MACHINE), "source": SOURCE, "seconds": 30.0,
            "figures": figures, "runs": [{"msg_p50": 0.151, "parts": 150, "messages": 2600}]}


def glass_to_glass() -> dict[str, Any]:
    run = {"p50": 1.079, "p95": 1.079, "max": 1.081, "min": 1.07, "samples": 1800, "stalls": 0,
           "stall_seconds": 0.0, "stalls_during_warmup": 0, "time_to_first_frame": 2.41,
           "playback_rate": 1.0, "dropped_frames": 0, "decoded_frames": 2103, "hls_latency_end": 1.0,
           "hls_target_latency": 0.6, "max_live_sync_playback_rate": 1, "forward_buffer_end": 0.88,
           "behind_live_sync_position": 0.4, "fatal_errors": [], "page_errors": [],
           "warmup_perf_ms": 10000.0, "node_problems": [], "publisher_errors": ""}
    figures = {"p50": spread(1.079, 1.072, 1.164), "p95": spread(1.079, 1.073, 1.165),
               "max": spread(1.081), "stalls": spread(0, 0, 0), "stall_seconds": spread(0.0),
               "time_to_first_frame": spread(2.41, 2.26)}
    return {"machine": dataclasses.asdict(MACHINE), "source": SOURCE, "seconds": 60.0, "warmup": 10.0,
            "sync_rate": None, "figures": figures, "runs": [run, {**run, "forward_buffer_end": None}]}


def passthrough_capacity() -> dict[str, Any]:
    def step(n: int, cpu: float, healthy: bool, refinement: bool = False) -> dict[str, Any]:
        return {"streams": n, "node_cpu_pct": cpu, "cpu_per_stream_pct": cpu / n, "ffmpeg_cpu_pct": n * 0.4,
                "bench_cpu_pct": 1.8, "machine_cpu_pct": cpu * 1.4, "cores": 2, "node_rss_mib": 140 + 30 * n,
                "p50": 0.15, "p95": 0.236 if healthy else float("nan"), "last_p95": 0.07, "pace": 1.0,
                "worst_lag": 0.3 if healthy else 10.9, "median_lag": 0.2, "playlists_unavailable": 0,
                "parts": 60, "parts_inexact": 0, "observer_errors": [], "healthy": healthy,
                "reasons": [] if healthy else ["96/128 streams' live edge > 1 s behind (worst 10.90 s)"],
                "refinement": refinement}

    steps = [step(8, 9.0, True), step(64, 69.5, True), step(128, 97.8, False), step(80, 100.2, True, True)]
    run = {"steps": steps, "max_healthy_streams": 80, "first_unhealthy_streams": 96,
           "cpu_per_stream_moderate": 1.12, "moderate_n": 8, "marginal_cpu_per_stream": 1.06,
           "node_problems": [], "node_problem_count": 0, "ffmpeg_errors": []}
    return {"machine": dataclasses.asdict(MACHINE), "source": SOURCE, "levels": [1, 2, 4, 8, 16, 32, 64, 128],
            "warmup": 5.0, "window": 12.0,
            "figures": {"max_healthy_streams": spread(80.0), "cpu_per_stream_moderate": spread(1.12),
                        "marginal_cpu_per_stream": spread(1.06)}, "runs": [run]}


def ladder() -> dict[str, Any]:
    in_run = {"720p30": {"ladder": {"rungs": ["480p", "360p"], "realtime_factor": 6.24}},
              "1080p30": {"ladder": {"rungs": ["720p", "480p", "360p"], "realtime_factor": 2.49}}}
    node_720 = {"max_healthy_streams": spread(5.0), "node_cpu_pct_n1": spread(36.0),
                "480p_extra_p50": spread(0.078), "480p_extra_p95": spread(0.091),
                "360p_extra_p50": spread(0.076), "360p_extra_p95": spread(0.090)}
    node_1080 = {"max_healthy_streams": spread(2.0), "node_cpu_pct_n1": spread(81.0),
                 "720p_extra_p50": spread(0.084), "720p_extra_p95": spread(0.097),
                 "480p_extra_p50": spread(0.082), "480p_extra_p95": spread(0.094),
                 "360p_extra_p50": spread(0.080), "360p_extra_p95": spread(0.093)}
    return {
        "machine": dataclasses.asdict(MACHINE), "ladder": {"heights": [720, 480, 360], "preset": "veryfast"},
        "sources": {"720p30": SOURCE,
                    "1080p30": h.SourceSpec(width=1920, height=1080, video_kbps=6000).label},
        "warmup": 5.0, "window": 10.0, "backlog": 1.0,
        "in_process": {"figures": {
            "720p30": {"realtime_factor": spread(6.24, 5.55, 6.36), "cores_at_realtime": spread(0.29, 0.30),
                       "others_cpu_pct": spread(2.0)},
            "1080p30": {"realtime_factor": spread(2.49, 2.50), "cores_at_realtime": spread(0.72, 0.73),
                        "others_cpu_pct": spread(1.0)}}, "runs": [in_run]},
        "node": {"figures": {"720p30": node_720, "1080p30": node_1080},
                 "runs": {"720p30": [{"renditions": ["source", "480p", "360p"]}],
                          "1080p30": [{"renditions": ["source", "720p", "480p", "360p"]}]}},
    }


def whip_glass_to_glass() -> dict[str, Any]:
    figures = {"p50": spread(1.082, 1.066), "p95": spread(1.083, 1.133), "max": spread(1.2),
               "ingest_to_screen_p50": spread(0.9), "time_to_connected": spread(0.3),
               "node_cpu_percent": spread(17.0)}
    return {"machine": dataclasses.asdict(MACHINE), "seconds": 30.0, "warmup": 10.0, "figures": figures,
            "runs": [{"p50": 1.082, "video_codec": "VP8"}]}


def edge_load_result() -> dict[str, Any]:
    def server(rps: float, p99: float, healthy: bool) -> dict[str, Any]:
        return {**{k: 1.0 for k in edge_load.STEP_KEYS}, "rps": rps, "p50": p99 / 2, "p99": p99,
                "origin_fetches_per_part": 2.0, "server_cpu_pct": rps / 80, "errors": 0, "missing": 0,
                "healthy": healthy, "generator_limited": False, "disturbed": False}

    def run(best: int) -> dict[str, Any]:
        steps = [{"viewers": n, "tributary": server(10.0 * n, 0.03 * n / 50, n <= best),
                  "nginx": server(10.0 * n, 0.535, False), "rps_ratio": 1.0, "p99_ratio": 0.06 * n / 50}
                 for n in (50, 100, 200)]
        return {"steps": steps, "max_viewers": best, "max_viewers_lower_bound": best == 200,
                "nginx_max_viewers": 0, "nginx_max_viewers_lower_bound": False,
                "origin_fetches_per_part": 2.0, "nginx_origin_fetches_per_part": 2.0,
                "edge_cpu_pct_at_max": 24.0, "edge_cpu_pct_per_100_viewers": 13.7, "problems": {},
                "probe_errors": [], "load_average_before": [0.59, 0.4, 0.3]}

    runs = [run(150), run(200)]
    return {"machine": dataclasses.asdict(MACHINE), "started": "2026-11-21 14:25 UTC",
            "nginx": "nginx/1.22.1", "priority": "nice -5", "window": 10.0, "warmup": 2.0, "ramp": 2.0,
            "cores": {"server": 1, "load": [0]}, "generators": 1, **edge_load.aggregate(runs), "runs": runs}


def chat_fanout_result() -> dict[str, Any]:
    def step(n: int, p99: float) -> dict[str, Any]:
        return {"clients": n, **{k: 0.5 for k in chat_fanout.STEP_KEYS}, "p50": 0.028, "p99": p99,
                "delivered": 1.0, "us_per_delivery": 63.7, "healthy": p99 <= 0.1, "reasons": []}

    def stage(n: int) -> dict[str, Any]:
        return {"clients": n, **{k: 1.0 for k in chat_fanout.HOLD_KEYS}, "rss_mib_per_1000": 34.0,
                "healthy": True, "reasons": []}

    def run() -> dict[str, Any]:
        fan = {"max_clients": 750, "max_clients_lower_bound": False, "first_unhealthy": 1000,
               "first_unhealthy_reasons": ["p99 148 ms > 100 ms"],
               **{f"at_max_{k}": v for k, v in step(750, 0.093).items() if k in chat_fanout.STEP_KEYS},
               "steps": [step(500, 0.046), step(750, 0.093), step(1000, 0.148)]}
        hold = {"max_held": 8000, "max_held_lower_bound": True, "first_unheld": None,
                "first_unheld_reasons": [], **{f"held_{k}": v for k, v in stage(8000).items()
                                               if k in chat_fanout.HOLD_KEYS},
                "stages": [stage(2000), stage(8000)]}
        return {"fan_out": fan, "hold": hold, "load_average_before": [0.22, 0.2, 0.1]}

    runs = [run(), run()]
    return {"machine": dataclasses.asdict(MACHINE), "started": "2026-11-21 18:07 UTC", "rate": 10.0,
            "senders": 10, "ping_interval": 25.0, "window": 20.0, "hold": 30.0, "generators": 2,
            "deflate": True, "levels": [250, 500, 1000], "hold_levels": [2000, 4000, 8000],
            **chat_fanout.aggregate(runs), "runs": runs}


def vod_transcode_result(sliced_1080: bool = True) -> dict[str, Any]:
    ladders = {"720p30": ["720p 1280x720 2764 kb/s", "480p 854x480 1229 kb/s", "360p 640x360 691 kb/s"],
               "1080p30": ["1080p 1920x1080 6220 kb/s", "720p 1280x720 2764 kb/s",
                           "480p 854x480 1229 kb/s", "360p 640x360 691 kb/s"]}
    sliced = {"threads": "2", "lookahead_threads": "2", "sliced_threads": "1", "slices": "2"}
    frames = {"threads": "3", "lookahead_threads": "1", "sliced_threads": "0"}

    def side(rf: float, x264: dict[str, str], top: str) -> dict[str, Any]:
        return {"wall_s": 21 / rf, "media_s": 21.0, "realtime_factor": rf, "cpu_s": 36.0, "child_cpu_s": 35.7,
                "parent_cpu_s": 0.3, "cores_busy": 1.8, "peak_threads": 25, "others_cpu_pct": 0.0,
                "bytes": {top: 7_700_000}, "x264": {"core": "164", **x264},
                "command": "nice -n 10 ffmpeg -hide_banner -i SRC OUT"}

    def label_run(top: str, tributary_x264: dict[str, str], rf: float) -> dict[str, Any]:
        out = {"tributary": side(rf, tributary_x264, top), "ffmpeg_same": side(rf * 1.07, sliced, top),
               "ffmpeg_default": side(rf * 1.02, frames, top), "pictures_step": {"wall_s": 0.09, "files": 12}}
        out["ratio_ffmpeg_same"] = out["tributary"]["wall_s"] / out["ffmpeg_same"]["wall_s"]
        out["ratio_ffmpeg_default"] = out["tributary"]["wall_s"] / out["ffmpeg_default"]["wall_s"]
        return out

    run = {"load_average_before": [2.1, 1.0, 0.5], "720p30": label_run("720p", frames, 1.06),
           "1080p30": label_run("1080p", sliced if sliced_1080 else frames, 0.43)}
    figures = {}
    for label in ladders:
        r = run[label]
        f = {f"{s}_{k}": spread(r[s][k]) for s in vod_transcode.SIDES
             for k in ("wall_s", "realtime_factor", "cpu_s", "cores_busy")}
        f |= {f"ratio_{o}": spread(r[f"ratio_{o}"]) for o in ("ffmpeg_same", "ffmpeg_default")}
        figures[label] = f | {"pictures_step_s": spread(0.09)}
    return {"machine": dataclasses.asdict(MACHINE), "started": "2026-11-21 15:29 UTC",
            "settings": {"heights": [1080, 720, 480, 360], "preset": "fast"},
            "load_average_before": [2.1, 1.0, 0.5],
            "sources": {"720p30": "1280x720p30 H.264 High 5000 kb/s, 21 s, MP4",
                        "1080p30": "1920x1080p30 H.264 High 8000 kb/s, 21 s, MP4"},
            "ladders": ladders, "figures": figures, "runs": [run]}


def vod_upload_result() -> dict[str, Any]:
    tus = {"mb_s": 305.0, "receive_mb_s": 480.0, "hand_over_s": 0.64, "node_cpu_s": 1.1, "client_cpu_s": 0.4}
    run = {"load_average_before": [0.44, 0.3, 0.2], "copy": {"wall_s": 0.16, "mb_s": 3407.0},
           "copy_fsync": {"wall_s": 0.31, "mb_s": 1743.0},
           "local_tus": {**tus, "node_problems": []},
           "s3_tus": {**tus, "mb_s": 67.0, "moto_cpu_s": 6.0, "node_problems": []},
           "aioboto3_managed": {"mb_s": 122.0}, "aioboto3_sequential": {"mb_s": 89.0},
           "local_ratio_copy": 0.09, "local_ratio_copy_fsync": 0.17, "s3_ratio_aioboto3_managed": 0.55,
           "s3_ratio_aioboto3_sequential": 0.73, "s3_ratio_copy": 0.02}
    figures = {"copy_mb_s": spread(3407.0), "copy_fsync_mb_s": spread(1743.0)}
    for target, bases in (("local", ("copy", "copy_fsync")),
                          ("s3", ("aioboto3_managed", "aioboto3_sequential", "copy"))):
        for key in ("mb_s", "receive_mb_s", "hand_over_s", "node_cpu_s", "client_cpu_s"):
            figures[f"{target}_{key}"] = spread(run[f"{target}_tus"][key])
        figures |= {f"{target}_ratio_{b}": spread(run[f"{target}_ratio_{b}"]) for b in bases}
    figures |= {"s3_moto_cpu_s": spread(6.0), "aioboto3_managed_mb_s": spread(122.0),
                "aioboto3_sequential_mb_s": spread(89.0)}
    return {"machine": dataclasses.asdict(MACHINE), "started": "2026-11-21 16:00 UTC", "mib": 512,
            "chunk_mib": 8, "targets": ["local", "s3"], "load_average_before": [0.44, 0.3, 0.2],
            "figures": figures, "runs": [run]}


def catalog_api() -> dict[str, Any]:
    def latency(p50: float, p95: float) -> dict[str, float]:
        return {"p50": p50, "p95": p95, "n": 300}

    run = {"search": latency(0.0028, 0.022), "trending": latency(0.0013, 0.0016),
           "video_page": latency(0.0014, 0.0018), "rps": 3743.0, "rps_tool": "aiohttp",
           "node_cpu_seconds": 10.7, "node_problems": []}
    figures = {f"{kind}_{q}": spread(run[kind][q]) for kind in ("search", "trending", "video_page")
               for q in ("p50", "p95")} | {"rps": spread(3743.0)}
    return {"machine": dataclasses.asdict(MACHINE), "videos": 100_000, "views": 1_000_000,
            "load_seconds": 24.0, "refresh_seconds": 0.788, "listed": 75_941,
            "plans": {"exact 'tributary' (relevance)": "Bitmap Index Scan on videos_search_document"},
            "figures": figures, "runs": [run]}


RESULTS = {
    "first_playlist": first_playlist, "ingest_to_part": ingest_to_part, "glass_to_glass": glass_to_glass,
    "passthrough_capacity": passthrough_capacity, "ladder": ladder,
    "whip_glass_to_glass": whip_glass_to_glass,
    "edge_load": edge_load_result, "chat_fanout": chat_fanout_result, "vod_transcode": vod_transcode_result,
    "vod_upload": vod_upload_result, "catalog_api": catalog_api,
}


def attempt(name: str, *, run_started: dt.datetime = RUN_STARTED, commit: str = "dfcb658",
            minutes_in: int = 0) -> report.Attempt:
    return report.Attempt(run_started=run_started, started=run_started + dt.timedelta(minutes=minutes_in),
                          seconds=240.0, command=f".venv/bin/python -m bench.{name} --runs 3",
                          machine=dataclasses.replace(MACHINE, commit=commit))


def store_everything(directory: Path) -> dict[str, report.Stored]:
    for i, name in enumerate(NAMES):
        report.store_success(directory, name, attempt(name, minutes_in=5 * i), RESULTS[name]())
    return report.load_all(directory, NAMES)


README_TEXT = (
    "# Tributary\r\n\nIntro — with “quotes” and trailing spaces   \n\n## Benchmarks\n\nHand-written text.\n\n"
    f"{report.HEADLINE_START}\nold table\n| a | b |\n{report.HEADLINE_END}\n\nAfter the block.\n"
)


def test_every_plan_benchmark_has_a_fixture_and_a_headline_or_results_rows() -> None:
    assert set(RESULTS) == set(NAMES)
    assert set(report.HEADLINES) <= set(NAMES)


def test_results_md_renders_every_benchmark(tmp_path: Path) -> None:
    text = report.render_results(store_everything(tmp_path), NAMES)
    for expected in (
        "- Date: 2026-11-21 12:13 UTC (one run of `bench.run_all`, 44.0 min of benchmarks)",
        "- Commit: `dfcb658`",
        "- Machine: 2 cores, AMD EPYC, 23.5 GiB RAM",
        f"- Source (every publisher; encoded once, then copied): {SOURCE}",
        "| first_playlist | 2026-11-21 12:13 UTC | 4.0 min | `dfcb658` | 2 cores, 23.5 GiB | ok |",
        "| catalog_api | 2026-11-21 13:03 UTC |",
        "first keyframe sent → first playable media playlist, median | 226 ms (225–227, 3 runs) |",
        "| ingest → part (30 s real-time stream per run) |",
        "| glass to glass (hls.js, Chromium; 10 s warm-up dropped, 60 s measured per run) | latency p50 |",
        "| largest healthy N | 80 streams (first unhealthy: 96) |",
        "| ladder, 1080p30 source passed through + 720p+480p+360p encoded (in process) | realtime factor |",
        "| | extra latency of 720p over the passthrough, p50 / p95 | 84 ms / 97 ms |",
        "| WHIP glass to glass (Chromium publish page → hls.js;",
        "no errors | ≥ 175 (150–200, 2 runs) viewers |",
        "| 750 (750–750, 2 runs) clients (first unhealthy: 1000, 1000) |",
        "| VOD transcode, 720p30 source → 720p+480p+360p + audio + pictures",
        "| VOD upload, 512 MiB (tuspy, 8 MiB PATCHes → one node; first byte → `processing`) |"
        " tus → local disk",
        "| catalog API (100,000 videos, 1,000,000 views; one node process) | search p50 | 2.8 ms |",
        "## Capacity steps (last run; 5 s warm-up + 12 s measured per step)",
        "(the machine has 200%)",
        "## Glass to glass, per run",
        "## Edge under LL-HLS load, per step (medians of 2 runs;",
        "## Chat, per step (medians of 2 runs)",
        "## VOD transcode, per run (1 runs)",
        "## VOD upload, per run",
        "## Catalog API, per run",
        "- `.venv/bin/python -m bench.catalog_api --runs 3`",
    ):
        assert expected in text, expected
    assert "different dates" not in text and "failed" not in text.lower().replace("unhealthy", "")


def test_headline_has_the_issue_figures_and_where_they_came_from(tmp_path: Path) -> None:
    block = report.render_headline(store_everything(tmp_path), NAMES)
    table = [line for line in block.splitlines() if line.startswith("| ")][2:]  # header, rule
    rows = dict(tuple(cell.strip() for cell in line.strip("|").rsplit(" | ", 1)) for line in table)
    assert rows["first keyframe sent → first playable LL-HLS playlist"] == "226 ms"
    assert rows["RTMP message sent → its part fetchable (all messages, p50 / p95)"] == "152 / 239 ms"
    assert rows["glass-to-glass in hls.js, headless Chromium (p50 / p95, 60 s, no stalls)"] == "1.08 / 1.08 s"
    assert rows["WHIP glass-to-glass: browser canvas → WebRTC → node → hls.js (p50 / p95)"] == "1.07 / 1.11 s"
    assert rows["ABR ladder, 720p30 source + 480p/360p encoded: realtime factor, CPU at real time"] == (
        "6.2×, 0.29 cores")
    assert rows["ABR ladder, 1080p30 source + 720p/480p/360p encoded: realtime factor, CPU at real time"] == (
        "2.5×, 0.72 cores")
    assert rows["ladder streams one node sustains in real time (720p30 / 1080p30 sources)"] == "5 / 2"
    assert rows["extra latency of an encoded rendition over the passthrough (p50 / p95)"] == (
        "76–84 / 90–97 ms")
    assert rows["passthrough streams one node process carries (1280x720p30 source, ladder off,"
                " recorded)"] == "80"
    assert rows["node CPU per passthrough stream (at 8 streams)"] == "1.1% of one core"
    assert rows["LL-HLS viewers one edge core serves at p99 part delivery ≤ 100 ms"
                " (origin fetches per part there)"] == "≥ 175 (2.00)"
    assert rows["chat fan-out, one room across two chat nodes at 10 messages/s: clients with p99 ≤ 100 ms"
                " (p50 / p99 there)"] == "750 (28 / 93 ms)"
    assert rows["chat clients held by two chat nodes (25 s heartbeat answered for 30 s, nobody sending;"
                " node RSS per 1,000)"] == "≥ 8,000 (34 MiB)"
    vod = ": × real time, time ÷ ffmpeg's (same x264 threading)"
    assert rows[f"VOD transcode, 720p30 upload → 720p/480p/360p{vod}"] == "1.06×, 1.02"
    assert rows[f"VOD transcode, 1080p30 upload → 1080p/720p/480p/360p{vod}"] == "0.43×, 1.07"
    assert rows["catalog search on 100,000 videos (p50 / p95)"] == "2.8 / 22.0 ms"
    assert rows["`GET /api/v1/videos/{id}` on one process (aiohttp client)"] == "3,743 req/s"
    intro = " ".join(block.split("\n\n")[0].split())
    assert intro.startswith("Measured 2026-11-21 (UTC) on commit `dfcb658`, 2 cores (AMD EPYC),"
                            " 23.5 GiB RAM;")
    assert intro.endswith("and the full tables: [`bench/RESULTS.md`](bench/RESULTS.md).")
    assert len(block.split("\n\n")[0].splitlines()) == 2  # one sentence a line


def test_vod_ratio_is_against_the_ffmpeg_threaded_like_tributary_was() -> None:
    frame_threaded = report.HEADLINES["vod_transcode"](vod_transcode_result(sliced_1080=False))
    assert frame_threaded[1][1] == "0.43×, 1.02"


def test_replace_block_keeps_everything_outside_the_markers_byte_for_byte() -> None:
    new = report.replace_block(README_TEXT, "new line\n| x | y |")
    head, tail = README_TEXT.split("old table")[0], README_TEXT[README_TEXT.index(report.HEADLINE_END):]
    assert new.startswith(head) and new.endswith(tail)
    assert new == head + "new line\n| x | y |\n" + tail


def test_replace_block_is_idempotent() -> None:
    once = report.replace_block(README_TEXT, "block")
    assert report.replace_block(once, "block") == once
    assert report.replace_block(once, "block\n") == once


def test_replace_block_keeps_crlf_files_crlf() -> None:
    text = f"a\r\n{report.HEADLINE_START}\r\nold\r\n{report.HEADLINE_END}\r\nb\r\n"
    expected = f"a\r\n{report.HEADLINE_START}\r\nx\r\ny\r\n{report.HEADLINE_END}\r\nb\r\n"
    assert report.replace_block(text, "x\ny") == expected


@pytest.mark.parametrize("text", [
    "no markers at all\n",
    f"{report.HEADLINE_START}\nonly the start\n",
    f"only the end\n{report.HEADLINE_END}\n",
    f"{report.HEADLINE_START}\n{report.HEADLINE_START}\n{report.HEADLINE_END}\n",
    f"{report.HEADLINE_START}\n{report.HEADLINE_END}\n{report.HEADLINE_START}\n{report.HEADLINE_END}\n",
    f"{report.HEADLINE_END}\nreversed\n{report.HEADLINE_START}\n",
])
def test_replace_block_refuses_missing_duplicated_or_reversed_markers(text: str) -> None:
    with pytest.raises(report.MarkerError, match="bench:headline"):
        report.replace_block(text, "block")


def test_the_repository_readme_has_one_headline_block() -> None:
    text = report.README.read_bytes().decode("utf-8")
    token = "rendered-headline-9f4c"
    assert report.replace_block(text, token).count(token) == 1


def test_write_reports_refuses_bad_markers_before_writing_anything(tmp_path: Path) -> None:
    stored = store_everything(tmp_path / "results")
    results_md, readme = tmp_path / "RESULTS.md", tmp_path / "README.md"
    results_md.write_text("old results\n")
    readme.write_text("a README without markers\n")
    with pytest.raises(report.MarkerError, match="README.md"):
        report.write_reports(stored, NAMES, results_md=results_md, readme=readme)
    assert results_md.read_text() == "old results\n"


def test_write_reports_refuses_when_a_benchmark_has_nothing_stored(tmp_path: Path) -> None:
    stored = store_everything(tmp_path / "results")
    del stored["ladder"]
    results_md, readme = tmp_path / "RESULTS.md", tmp_path / "README.md"
    results_md.write_text("old results\n")
    readme.write_bytes(README_TEXT.encode())
    with pytest.raises(report.IncompleteResults, match="--only ladder"):
        report.write_reports(stored, NAMES, results_md=results_md, readme=readme)
    assert results_md.read_text() == "old results\n" and readme.read_bytes() == README_TEXT.encode()


def test_write_reports_writes_both_then_nothing_when_unchanged(tmp_path: Path) -> None:
    stored = store_everything(tmp_path / "results")
    results_md, readme = tmp_path / "RESULTS.md", tmp_path / "README.md"
    readme.write_bytes(README_TEXT.encode())
    assert report.write_reports(stored, NAMES, results_md=results_md, readme=readme) == [results_md, readme]
    assert report.render_headline(stored, NAMES) in readme.read_text()
    assert readme.read_bytes().endswith(b"\n\nAfter the block.\n")
    assert report.write_reports(stored, NAMES, results_md=results_md, readme=readme) == []


def test_partial_rerun_keeps_the_other_benchmarks_rows_and_shows_their_dates(tmp_path: Path) -> None:
    store_everything(tmp_path)
    later = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    faster = first_playlist()
    faster["figures"]["median"] = spread(0.201, 0.2, 0.205)
    rerun = attempt("first_playlist", run_started=later, commit="abc1234")
    rerun = dataclasses.replace(rerun, machine=dataclasses.replace(rerun.machine, kernel="6.1.1"))
    report.store_success(tmp_path, "first_playlist", rerun, faster)
    stored = report.load_all(tmp_path, NAMES)
    text = report.render_results(stored, NAMES)
    assert ("**Measured at different dates or commits:** 2 run(s) of `bench.run_all` from"
            " 2026-11-21 12:13 UTC to 2026-11-23 09:00 UTC, on commit(s) `abc1234`, `dfcb658`") in text
    assert "| first_playlist | 2026-11-23 09:00 UTC | 4.0 min | `abc1234` |" in text
    assert "- **Machine details differ between benchmarks** (cores and memory of each in the table" \
           " below): 2 cores, AMD EPYC, 23.5 GiB RAM, Linux 6.1.1," in text
    assert "| catalog_api | 2026-11-21 13:03 UTC | 4.0 min | `dfcb658` |" in text
    assert "| 201 ms (200–205, 3 runs) |" in text
    assert "| catalog API (100,000 videos, 1,000,000 views; one node process) | search p50 | 2.8 ms |" in text
    assert "## Edge under LL-HLS load, per step" in text
    block = report.render_headline(stored, NAMES)
    assert "Measured 2026-11-21 to 2026-11-23 (UTC) on 2 commits, 2 cores (AMD EPYC), 23.5 GiB RAM;" in block
    assert "| first keyframe sent → first playable LL-HLS playlist | 201 ms |" in block
    assert "| catalog search on 100,000 videos (p50 / p95) | 2.8 / 22.0 ms |" in block


def test_a_failed_run_keeps_the_previous_figures_and_is_noted(tmp_path: Path) -> None:
    store_everything(tmp_path)
    before = report.load(tmp_path, "edge_load")
    failed_at = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)
    report.store_failure(tmp_path, "edge_load", attempt("edge_load", run_started=failed_at, commit="abc1234"),
                         "exit 1")
    after = report.load(tmp_path, "edge_load")
    assert after is not None and before is not None
    assert after.result == before.result and after.measured == before.measured
    stored = report.load_all(tmp_path, NAMES)
    text = report.render_results(stored, NAMES)
    assert "| edge_load | 2026-11-21 12:43 UTC | 4.0 min | `dfcb658` | 2 cores, 23.5 GiB | **failed**" \
           " 2026-11-22 08:00 UTC on `abc1234` (exit 1); figures from the run before |" in text
    assert "**Last run failed:** edge_load (2026-11-22 08:00 UTC, exit 1: its figures above are from" \
           " 2026-11-21 12:43 UTC)." in text
    assert "≥ 175 (150–200, 2 runs) viewers" in text
    block = " ".join(report.render_headline(stored, NAMES).split())
    assert "The last run of edge_load failed: its figures are from before." in block
    assert "| ≥ 175 (2.00) |" in block
    report.store_success(tmp_path, "edge_load", attempt("edge_load"), edge_load_result())
    assert "failed" not in (tmp_path / "edge_load.json").read_text()


def test_a_benchmark_that_never_succeeded_has_no_rows_and_says_so(tmp_path: Path) -> None:
    store_everything(tmp_path)
    (tmp_path / "ladder.json").unlink()
    report.store_failure(tmp_path, "ladder", attempt("ladder"), "exit 0 without writing its JSON")
    stored = report.load_all(tmp_path, NAMES)
    assert report.missing(stored, NAMES) == []
    text = report.render_results(stored, NAMES)
    assert "| ladder | — | — | — | — | **failed** 2026-11-21 12:13 UTC on `dfcb658`" in text
    assert "ladder, 720p30" not in text
    block = report.render_headline(stored, NAMES)
    assert "ladder failed and has no figures yet." in " ".join(block.split())
    assert "ABR ladder" not in block


def test_stored_results_are_commit_friendly(tmp_path: Path) -> None:
    report.store_success(tmp_path, "ladder", attempt("ladder"), ladder())
    path = tmp_path / "ladder.json"
    data = path.read_bytes()
    report.store_success(tmp_path, "ladder", attempt("ladder"), ladder())
    assert path.read_bytes() == data
    text = data.decode()
    assert text.endswith("}\n") and '\n  "benchmark": "ladder",\n  "measured": {' in text
    stored = json.loads(text)
    assert list(stored) == ["benchmark", "measured", "result"]
    assert list(stored["measured"]) == ["run_started", "started", "seconds", "command", "machine"]
    assert list(stored["result"]["in_process"]["figures"]) == ["720p30", "1080p30"]  # not sorted
    assert stored["measured"]["machine"]["commit"] == "dfcb658"
    assert not list(tmp_path.glob("*.tmp"))


def test_run_all_counts_a_missing_or_broken_json_as_a_failure(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    assert run_all.read_result(3, out) == (None, "exit 3")
    assert run_all.read_result(0, out) == (None, "exit 0 without writing its JSON")
    out.write_text('{"figures": ')
    result, reason = run_all.read_result(0, out)
    assert result is None and reason.startswith("unreadable JSON")
    out.write_text('{"figures": {"median": NaN}}')
    result, _ = run_all.read_result(0, out)
    assert result is not None and result["figures"]["median"] != result["figures"]["median"]
