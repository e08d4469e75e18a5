"""Pieces of text the reports' tables and sections share, so each is written one way."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench import harness as h

Row = tuple[str, str]
"""One row of a figure table, RESULTS.md's or the README's: which figure, and its value."""


def number(value: Any) -> float:
    """A figure from a result's JSON, NaN where the benchmark stored null (it could not measure
    it in that run), so formatting prints "nan" instead of failing on ``None``."""
    return math.nan if value is None else float(value)


def ms_spread(s: dict[str, float] | None, digits: int = 0) -> str:
    """A spread over runs of a time in seconds, in milliseconds; "n/a" when it is absent."""
    return h.fmt_spread(s, " ms", 1000, digits) if s else "n/a"


def table_rows(benchmark: str, rows: Sequence[Row]) -> list[str]:
    """One benchmark's rows of RESULTS.md's figure table: what was run and how goes in the first
    row's first cell only, so the table reads as one group per benchmark setup."""
    first = f"| {benchmark} |"
    return [f"{first if i == 0 else '| |'} {what} | {value} |" for i, (what, value) in enumerate(rows)]


def heading(title: str) -> list[str]:
    """A RESULTS.md section heading with the blank lines around it."""
    return ["", f"## {title}", ""]


def run_conditions(result: Mapping[str, Any], sharing: str = "") -> str:
    """The sentence a per-run section opens with: when and at which commit the benchmark ran,
    what shared the machine with it (``sharing``, punctuated as it follows the commit: "; 2 cores
    shared by …." or ". The server under test …."), and the load average before each run, so a
    reader can tell a busy machine from a slow server."""
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in result["runs"])
    measured = f"Measured {result['started']} on commit `{result['machine']['commit']}`"
    if sharing:
        return f"{measured}{sharing} Load average before each run: {loads}"
    return f"{measured}; load average before each run: {loads}"
