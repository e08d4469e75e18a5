"""RESULTS.md's rows and per-step section for bench/chat_fanout.py: fan-out latency and
clients held by two chat nodes sharing one room through Redis."""

from __future__ import annotations

from typing import Any

from bench import chat_fanout
from bench import harness as h
from bench.report.formatting import heading, ms_spread, run_conditions, table_rows


def _counts(values: list[int | None]) -> str:
    """One count per run, "none" for a run where nothing broke."""
    return ", ".join("none" if n is None else str(n) for n in values)


def chat_fanout_rows(cf: dict[str, Any]) -> list[str]:
    if "figures" not in cf:
        return []
    f = cf["figures"]
    rows = [
        (f"fan-out at {cf['rate']:g} messages/s: largest client count (both nodes, half on each) with"
         " every client staying, every message delivered, p99 ≤ 100 ms",
         f"{chat_fanout.capacity_text(f['max_clients'], f['max_clients_lower_bound'])} clients"
         f" (first unhealthy: {_counts(f['first_unhealthy'])})"),
        ("delivery p50 / p99 at that count", f"{ms_spread(f['at_max_p50'])} / {ms_spread(f['at_max_p99'])}"),
        ("p99 on the sender's node / on the other node (through Redis)",
         f"{ms_spread(f['at_max_local_p99'])} / {ms_spread(f['at_max_remote_p99'])}"),
        ("CPU of the busier node at that count", h.fmt_spread(f["at_max_node_cpu_pct"], "% of a core")),
        ("node CPU per delivery (one message to one client)",
         h.fmt_spread(f["at_max_us_per_delivery"], " µs", digits=1)),
    ]
    if "max_held" in f:
        rows += [
            (f"clients held (both nodes, half on each; joined, connected and pinged through {cf['hold']:g} s,"
             " nobody sending)",
             f"{chat_fanout.capacity_text(f['max_held'], f['max_held_lower_bound'])} clients"
             f" (first not held: {_counts(f['first_unheld'])})"),
            ("node RSS per 1,000 clients held", h.fmt_spread(f["held_rss_mib_per_1000"], " MiB")),
            ("node CPU holding them (heartbeats only), busier node",
             h.fmt_spread(f["held_node_cpu_pct"], "% of a core", digits=1)),
        ]
    deflate = "offered" if cf["deflate"] else "not offered"
    return table_rows("chat (two `serve chat` nodes, one live room; browser-like Socket.IO clients:"
                      f" WebSocket, permessage-deflate {deflate}, {cf['ping_interval']:g} s heartbeat)", rows)


def chat_fanout_section(cf: dict[str, Any]) -> list[str]:
    if "steps" not in cf:
        return []
    sharing = (f"; {cf['machine']['cores']} cores shared by both chat nodes, Redis and"
               f" {cf['generators']} Python load generator processes.")
    lines = [
        *heading(f"Chat, per step (medians of {len(cf['runs'])} runs)"),
        f"{run_conditions(cf, sharing)}. Clients offer permessage-deflate"
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
