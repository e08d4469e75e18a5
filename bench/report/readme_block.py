"""The README's headline block: where the figures came from, then the headline rows, between
two marker lines that are the only part of the README this package ever rewrites.

Everything around the markers was written by hand and stays byte for byte (line endings too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from bench.report.headline_rows import HEADLINES
from bench.report.provenance import sources, unique
from bench.report.store import Stored, measured, results

HEADLINE_START = "<!-- bench:headline -->"
HEADLINE_END = "<!-- /bench:headline -->"


def _intro(stored: Mapping[str, Stored], names: Sequence[str]) -> str:
    """Where the figures came from, one sentence a line (Markdown joins them into a paragraph;
    wrapping would split "23.5 GiB" across lines of the README's source)."""
    attempts = measured(stored, names)
    if not attempts:
        return "Nothing measured yet: `.venv/bin/python -m bench.run_all` fills this table."
    days = sorted({a.started.astimezone(dt.UTC).date().isoformat() for _, a in attempts})
    when = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    commits = unique(a.machine.commit for _, a in attempts)
    on = f"commit `{commits[0]}`" if len(commits) == 1 else f"{len(commits)} commits"
    machines = " / ".join(unique(f"{a.machine.cores} cores ({a.machine.cpu_model}),"
                                 f" {a.machine.memory_gib:.1f} GiB RAM" for _, a in attempts))
    first = f"Measured {when} (UTC) on {on}, {machines}"
    published = sources(stored, names)
    if published:
        first += f"; live source {'; '.join(published)}, published over RTMP on loopback"
    lines = [first + "."]
    for name in names:
        s = stored.get(name)
        if s is not None and s.last_failure is not None:
            lines.append(f"The last run of {name} failed: its figures are from before." if s.measured
                         else f"{name} failed and has no figures yet.")
    lines.append("Each benchmark's date, commit and command, and the full tables:"
                 " [`bench/RESULTS.md`](bench/RESULTS.md).")
    return "\n".join(lines)


def render_headline(stored: Mapping[str, Stored], names: Sequence[str]) -> str:
    """The README block: where the figures came from, then one row per headline figure."""
    found = results(stored, names)
    rows = [row for name, rows_of in HEADLINES.items() if name in found for row in rows_of(found[name])]
    return "\n".join([_intro(stored, names), "", "| figure | median |", "| --- | --- |",
                      *(f"| {what} | {value} |" for what, value in rows)])


class MarkerError(ValueError):
    """The README has no single headline block to replace: refuse rather than guess where it is."""


def replace_block(text: str, block: str, start: str = HEADLINE_START, end: str = HEADLINE_END) -> str:
    """``text`` with the lines between the ``start`` and ``end`` marker lines replaced by
    ``block``; the marker lines and everything outside them are kept byte for byte."""
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.strip() == start]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if len(starts) != 1 or len(ends) != 1:
        raise MarkerError(f"expected one {start} line and one {end} line, found {len(starts)} and"
                          f" {len(ends)}: put the headline table between one pair of them")
    first, last = starts[0], ends[0]
    if last < first:
        raise MarkerError(f"{end} comes before {start}")
    eol = "\r" if lines[first].endswith("\r") else ""  # keep a CRLF file CRLF
    body = [line + eol for line in block.rstrip("\n").split("\n")]
    return "\n".join([*lines[:first + 1], *body, *lines[last:]])
