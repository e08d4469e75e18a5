"""RESULTS.md's rows and per-step section for bench/edge_load.py: the viewers one edge core
serves, with Debian's nginx measured beside it on the same core."""

from __future__ import annotations

from typing import Any

from bench import edge_load
from bench import harness as h
from bench.report.formatting import heading, run_conditions, table_rows


def edge_load_rows(el: dict[str, Any]) -> list[str]:
    """The edge's viewer capacity and nginx's beside it, then the two compared at the largest
    count that every run measured and found healthy."""
    if "figures" not in el:
        return []
    f = el["figures"]
    rows = [
        ("largest viewer count with p99 part delivery ≤ 100 ms after publication at the origin, no errors",
         f"{edge_load.capacity_text(f['max_viewers'], f['max_viewers_lower_bound'])} viewers"),
        ("origin fetches per part at that count", h.fmt_spread(f["origin_fetches_per_part"], digits=2)),
        ("edge CPU at that count", h.fmt_spread(f["edge_cpu_pct_at_max"], "% of its core")),
        ("edge CPU per 100 viewers (1,000 requests/s)",
         h.fmt_spread(f["edge_cpu_pct_per_100_viewers"], "% of a core", digits=1)),
        (f"{el['nginx']} (proxy_cache + proxy_cache_lock, same core, same viewers): largest such count",
         f"{h.fmt_spread(f['nginx_max_viewers'])} viewers"),
        ("nginx origin fetches per part at the edge's count",
         h.fmt_spread(f["nginx_origin_fetches_per_part"], digits=2)),
    ]
    runs = len(el["runs"])
    healthy = [s for s in el["steps"] if s["tributary"]["healthy_runs"] == s["runs"] == runs]
    if healthy:
        s = healthy[-1]
        rows.append((f"at {s['viewers']} viewers, Tributary / nginx: req/s, p99 part delivery",
                     f"{h.fmt_spread(s['rps_ratio'], '×', digits=2)},"
                     f" {h.fmt_spread(s['p99_ratio'], '×', digits=2)}"))
    return table_rows("edge under LL-HLS load (one edge process on one core; one stream, 200 ms parts;"
                      " hls.js-like viewers)", rows)


def edge_load_section(el: dict[str, Any]) -> list[str]:
    if "steps" not in el:
        return []
    sharing = (
        f". The server under test (edge, then {el['nginx']}) had core {el['cores']['server']} to itself"
        f" as far as this benchmark goes; the origin, publisher, probe and {el['generators']}"
        f" Python load generator process(es) ran on core(s) {el['cores']['load']}.")
    return [
        *heading(f"Edge under LL-HLS load, per step (medians of {len(el['runs'])} runs;"
                 f" {el['ramp']:g} s join + {el['warmup']:g} s warm-up + {el['window']:g} s measured"
                 " per step and server)"),
        f"{run_conditions(el, sharing)}. Each count is summarised over the runs that measured it"
        " (the bisection step differs between runs). *Stalled parts* reached even their first"
        " viewer more than 100 ms late (in brackets: while no generator lagged, so the server's);"
        " *run-queue wait* is the time the server was runnable but another process had its core"
        " (the machine is shared); a generator loop lag near the p99 means the generator, not the"
        " server, set the figure. Ratios are Tributary / nginx.",
        "",
        *edge_load.step_table(el["steps"]),
    ]
