"""RESULTS.md's rows and per-run section for bench/catalog_api.py: search, trending, the video
page and ``GET /api/v1/videos/{id}`` on one node process over a large catalog."""

from __future__ import annotations

from typing import Any

from bench import harness as h
from bench.report.formatting import heading, ms_spread, table_rows


def _ms1(seconds: float) -> str:
    """One run's figure (no spread): search takes a few milliseconds, so one decimal."""
    return f"{seconds * 1000:.1f} ms"


def catalog_api_rows(api: dict[str, Any]) -> list[str]:
    if "figures" not in api:
        return []
    f = api["figures"]
    return table_rows(f"catalog API ({api['videos']:,} videos, {api['views']:,} views; one node process)", [
        ("search p50", ms_spread(f["search_p50"], 1)),
        ("search p95", ms_spread(f["search_p95"], 1)),
        ("trending p50", ms_spread(f["trending_p50"], 1)),
        ("trending p95", ms_spread(f["trending_p95"], 1)),
        ("video page (3 concurrent calls) p50", ms_spread(f["video_page_p50"], 1)),
        ("video page p95", ms_spread(f["video_page_p95"], 1)),
        ("`GET /api/v1/videos/{id}`", h.fmt_spread(f["rps"], " req/s")),
    ])


def catalog_api_section(api: dict[str, Any]) -> list[str]:
    """Each run, the data they ran on, and PostgreSQL's plans for search on that data."""
    if "runs" not in api:
        return []
    am = api["machine"]
    lines = [
        *heading("Catalog API, per run"),
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
    return lines
