"""RESULTS.md's rows and per-run table for the live latency benchmarks: first playlist,
ingest → part, glass to glass (hls.js) and WHIP glass to glass."""

from __future__ import annotations

from typing import Any

from bench import harness as h
from bench.report.formatting import heading, ms_spread, number, table_rows


def first_playlist_rows(fp: dict[str, Any]) -> list[str]:
    if "figures" not in fp:
        return []
    f = fp["figures"]
    return table_rows(f"first playlist ({fp['reps']} fresh streams per run)", [
        ("first keyframe sent → first playable media playlist, median", ms_spread(f["median"])),
        ("same, max", ms_spread(f["max"])),
        ("RTMP connect start → first playable playlist, median", ms_spread(f["connect_median"])),
    ])


def ingest_to_part_rows(ip: dict[str, Any]) -> list[str]:
    if "figures" not in ip:
        return []
    f = ip["figures"]
    return table_rows(f"ingest → part ({ip['seconds']:g} s real-time stream per run)", [
        ("every RTMP message: sent → its part fetchable, p50", ms_spread(f["msg_p50"])),
        ("every message, p95", ms_spread(f["msg_p95"])),
        ("message completing each part, p50", ms_spread(f["last_p50"])),
        ("message completing each part, p95", ms_spread(f["last_p95"])),
        ("next part's first video frame sent → part fetchable, p50", ms_spread(f["closing_p50"])),
        ("node CPU, one stream + one LL-HLS client",
         h.fmt_spread(f["node_cpu_pct"], "% of a core", digits=1)),
    ])


def glass_to_glass_rows(gg: dict[str, Any]) -> list[str]:
    if "figures" not in gg:
        return []
    f = gg["figures"]
    return table_rows(f"glass to glass (hls.js, Chromium; {gg['warmup']:g} s warm-up dropped,"
                      f" {gg['seconds']:g} s measured per run)", [
        ("latency p50", ms_spread(f["p50"])),
        ("latency p95", ms_spread(f["p95"])),
        ("latency max", ms_spread(f["max"])),
        ("stalls (`waiting` events) after warm-up", h.fmt_spread(f["stalls"])),
        ("page open → first frame", h.fmt_spread(f["time_to_first_frame"], " s", digits=2)),
    ])


def whip_rows(wg: dict[str, Any]) -> list[str]:
    if "figures" not in wg:
        return []
    f = wg["figures"]
    return table_rows(f"WHIP glass to glass (Chromium publish page → hls.js; {wg['warmup']:g} s warm-up,"
                      f" {wg['seconds']:g} s measured per run)", [
        ("latency p50", ms_spread(f["p50"])),
        ("latency p95", ms_spread(f["p95"])),
        ("Start → WHIP connected", h.fmt_spread(f["time_to_connected"], " s", digits=2)),
        ("node CPU (WHIP decode + encode, packager, ladder)",
         h.fmt_spread(f["node_cpu_percent"], "% of a core")),
    ])


def glass_to_glass_section(gg: dict[str, Any]) -> list[str]:
    """Each run on its own: where hls.js tuned in varies from run to run, which the median hides."""
    if "runs" not in gg:
        return []
    lines = [*heading("Glass to glass, per run"),
             "| run | p50 | p95 | max | stalls | stalled s | hls.js latency at end | hls.js target |"
             " buffered ahead at end | dropped frames |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for i, r in enumerate(gg["runs"], 1):
        lines.append(
            f"| {i} | {h.ms(number(r['p50']))} | {h.ms(number(r['p95']))} | {h.ms(number(r['max']))} |"
            f" {r['stalls']} | {r['stall_seconds']:.2f} | {number(r['hls_latency_end']):.2f} s |"
            f" {number(r['hls_target_latency']):.2f} s | {number(r.get('forward_buffer_end')):.2f} s |"
            f" {r['dropped_frames']}/{r['decoded_frames']} |")
    return lines
