"""RESULTS.md's rows and step table for what one node carries: passthrough capacity and the
ABR ladder (in process, and on a node with real-time publishers)."""

from __future__ import annotations

from typing import Any

from bench import harness as h
from bench.report.formatting import heading, ms_spread, number, table_rows


def passthrough_rows(cap: dict[str, Any]) -> list[str]:
    if "figures" not in cap:
        return []
    f = cap["figures"]
    run = cap["runs"][-1]
    return table_rows("passthrough capacity (one node process)", [
        ("largest healthy N", f"{h.fmt_spread(f['max_healthy_streams'])} streams"
                              f" (first unhealthy: {run['first_unhealthy_streams']})"),
        (f"node CPU per stream at N={run['moderate_n']}",
         h.fmt_spread(f["cpu_per_stream_moderate"], "% of a core", digits=2)),
        ("marginal node CPU per added stream (fit over healthy steps)",
         h.fmt_spread(f["marginal_cpu_per_stream"], "% of a core", digits=2)),
    ])


def ladder_rows(lad: dict[str, Any]) -> list[str]:
    """Per source: the in-process encode, then (when measured) what a node sustains with it."""
    lines = []
    for label, f in lad.get("in_process", {}).get("figures", {}).items():
        rungs = "+".join(lad["in_process"]["runs"][0][label]["ladder"]["rungs"])
        lines += table_rows(f"ladder, {label} source passed through + {rungs} encoded (in process)", [
            ("realtime factor", h.fmt_spread(f["realtime_factor"], "×", digits=2)),
            ("CPU at real time", h.fmt_spread(f["cores_at_realtime"], " cores", digits=2)),
        ])
        nf = lad.get("node", {}).get("figures", {}).get(label)
        if nf:
            encoded = [k.removesuffix("_extra_p50") for k in sorted(nf) if k.endswith("_extra_p50")]
            extra = [(f"extra latency of {rung} over the passthrough, p50 / p95",
                      f"{ms_spread(nf[f'{rung}_extra_p50'])} / {ms_spread(nf[f'{rung}_extra_p95'])}")
                     for rung in encoded]
            lines += table_rows(f"ladder, {label} (one node process, real-time publishers)", [
                ("largest healthy N", f"{h.fmt_spread(nf['max_healthy_streams'])} streams"),
                ("node CPU at N=1", h.fmt_spread(nf["node_cpu_pct_n1"], "% of a core")),
                *extra,
            ])
    return lines


def capacity_steps_section(cap: dict[str, Any]) -> list[str]:
    """Every step of the last run's ramp, with the reason an unhealthy step failed."""
    if "runs" not in cap:
        return []
    lines = [
        *heading(f"Capacity steps (last run; {cap['warmup']:g} s warm-up + {cap['window']:g} s"
                 " measured per step)"),
        "\\* = bisection step after the first unhealthy one. CPU in % of one core (the machine has "
        f"{cap['machine']['cores'] * 100}%). Stream 0 is the PyAV publisher whose sends are logged;"
        " lag is now − ingest time of the newest media in each stream's playlist.",
        "",
        "| N | node CPU | per stream | node RSS | ffmpeg publishers CPU | bench process CPU |"
        " machine CPU | stream 0 p95 ingest→part | pace | worst live-edge lag | health |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in cap["runs"][-1]["steps"]:
        health = "ok" if s["healthy"] else "; ".join(s["reasons"])
        lines.append(
            f"| {s['streams']}{'*' if s['refinement'] else ''} | {s['node_cpu_pct']:.1f}% |"
            f" {s['cpu_per_stream_pct']:.2f}% | {s['node_rss_mib']:.0f} MiB | {s['ffmpeg_cpu_pct']:.1f}% |"
            f" {s['bench_cpu_pct']:.1f}% | {s['machine_cpu_pct']:.1f}% | {h.ms(number(s['p95']))} |"
            f" {number(s['pace']):.3f} | {number(s['worst_lag']):.2f} s | {health} |")
    return lines
