"""bench/RESULTS.md: provenance, one table of every benchmark's headline figures, then each
benchmark's own tables, how each figure is measured and the commands that measured them.

What each benchmark contributes is in its group's ``*_tables`` module; this module only puts the
parts in the document's order, which is fixed here rather than taken from the run, so the same
stored results always render the same text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bench.report import capacity_tables, catalog_tables, chat_tables, edge_tables, live_latency_tables
from bench.report import vod_tables
from bench.report.formatting import heading
from bench.report.how_measured import HOW_MEASURED
from bench.report.provenance import failure_notes, header
from bench.report.store import Stored, measured, results

Lines = Callable[[dict[str, Any]], list[str]]
"""Lines of RESULTS.md from one benchmark's result (``{}`` when it has none); no lines when the
result lacks what they show."""

TABLE_ROWS: dict[str, Lines] = {
    "first_playlist": live_latency_tables.first_playlist_rows,
    "ingest_to_part": live_latency_tables.ingest_to_part_rows,
    "glass_to_glass": live_latency_tables.glass_to_glass_rows,
    "passthrough_capacity": capacity_tables.passthrough_rows,
    "ladder": capacity_tables.ladder_rows,
    "whip_glass_to_glass": live_latency_tables.whip_rows,
    "edge_load": edge_tables.edge_load_rows,
    "chat_fanout": chat_tables.chat_fanout_rows,
    "vod_transcode": vod_tables.vod_transcode_rows,
    "vod_upload": vod_tables.vod_upload_rows,
    "catalog_api": catalog_tables.catalog_api_rows,
}
"""Each benchmark's rows of the figure table, in the table's order."""

SECTIONS: dict[str, Lines] = {
    "passthrough_capacity": capacity_tables.capacity_steps_section,
    "glass_to_glass": live_latency_tables.glass_to_glass_section,
    "edge_load": edge_tables.edge_load_section,
    "chat_fanout": chat_tables.chat_fanout_section,
    "vod_transcode": vod_tables.vod_transcode_section,
    "vod_upload": vod_tables.vod_upload_section,
    "catalog_api": catalog_tables.catalog_api_section,
}
"""The benchmarks with tables of their own (per run or per step), in the document's order."""


def render_results(stored: Mapping[str, Stored], names: Sequence[str]) -> str:
    """RESULTS.md: provenance, one table of every headline figure, then each benchmark's detail."""
    found = results(stored, names)
    lines = [
        "# Benchmark results",
        "",
        "Rewritten by `.venv/bin/python -m bench.run_all` from the stored results in"
        " `bench/results/` — do not edit by hand.",
        "",
        *header(stored, names),
        "",
        "| Benchmark | Figure | Median (min–max over runs) |",
        "| --- | --- | --- |",
    ]
    for name, rows in TABLE_ROWS.items():
        lines += rows(found.get(name, {}))
    lines += failure_notes(stored, names)
    for name, section in SECTIONS.items():
        lines += section(found.get(name, {}))
    lines += [
        *heading("How each figure is measured"),
        *HOW_MEASURED,
        *heading("Commands"),
        *[f"- `{a.command}`" for _, a in measured(stored, names)],
        "",
    ]
    return "\n".join(lines)
