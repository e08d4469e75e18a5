"""When, on what and at which commit the stored figures were measured.

Results can come from different ``run_all`` invocations, commits and machines (``--only`` reruns,
failed runs keeping older figures), so both reports say where each figure came from: RESULTS.md
in its header and provenance table, the README in its intro sentence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench import harness as h
from bench.report.store import Stored, measured, results


def when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def unique(values: Iterable[Any]) -> list[Any]:
    """The distinct values in first-seen order (a set would make the text depend on hashing)."""
    return list(dict.fromkeys(values))


def sources(stored: Mapping[str, Stored], names: Sequence[str]) -> list[str]:
    """The harness source the live benchmarks published (those whose result names one)."""
    return unique(r["source"] for r in results(stored, names).values() if isinstance(r.get("source"), str))


def _hardware(m: h.Machine) -> h.Machine:
    """The machine without the commit: two benchmarks on one box at two commits share it."""
    return dataclasses.replace(m, commit="")


def _machine_text(m: h.Machine) -> str:
    return (f"{m.cores} cores, {m.cpu_model}, {m.memory_gib:.1f} GiB RAM, Linux {m.kernel},"
            f" Python {m.python}, {m.ffmpeg}")


def _last_run_text(s: Stored | None) -> str:
    if s is None:
        return "never run"
    if s.last_failure is None:
        return "ok"
    f = s.last_failure
    kept = "figures from the run before" if s.measured else "no figures yet"
    return f"**failed** {when(f.attempt.started)} on `{f.attempt.machine.commit}` ({f.reason}); {kept}"


def header(stored: Mapping[str, Stored], names: Sequence[str]) -> list[str]:
    """RESULTS.md's header: when, on what and on which commit, per benchmark when they differ."""
    attempts = measured(stored, names)
    runs = unique(a.run_started for _, a in sorted(attempts, key=lambda x: x[1].run_started))
    commits = unique(a.machine.commit for _, a in attempts)
    machines = unique(_hardware(a.machine) for _, a in attempts)
    lines = []
    if not attempts:
        lines.append("- Measured: nothing yet.")
    elif len(runs) == 1 and len(commits) == 1:
        minutes = sum(a.seconds for _, a in attempts) / 60
        lines += [f"- Date: {when(runs[0])} (one run of `bench.run_all`, {minutes:.1f} min of benchmarks)",
                  f"- Commit: `{commits[0]}`"]
    else:
        lines.append(
            f"- **Measured at different dates or commits:** {len(runs)} run(s) of `bench.run_all`"
            f" from {when(runs[0])} to {when(runs[-1])}, on commit(s)"
            f" {', '.join(f'`{c}`' for c in commits)}; each benchmark's own date and commit are in"
            " the table below.")
    if len(machines) == 1:
        lines.append(f"- Machine: {_machine_text(machines[0])}. The machine is shared: other work"
                     " may have run too.")
    elif machines:  # a new kernel build or ffmpeg is enough: say what, the table has the rest
        lines.append("- **Machine details differ between benchmarks** (cores and memory of each in"
                     " the table below): " + "; ".join(_machine_text(m) for m in machines) + ".")
    published = sources(stored, names)
    if published:
        lines.append(f"- Source (every publisher; encoded once, then copied): {'; '.join(published)}")
    lines += [
        "- Figures are medians over runs; the range over runs and the run count follow in brackets.",
        "- Commands from the repository root with `.venv/bin/python`; rerun one benchmark and keep"
        " the others' figures with `bench.run_all --only NAME` (bench/README.md).",
        "",
        "| Benchmark | Measured | Took | Commit | Machine | Last run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        s = stored.get(name)
        a = s.measured if s else None
        if a is None:
            lines.append(f"| {name} | — | — | — | — | {_last_run_text(s)} |")
            continue
        lines.append(
            f"| {name} | {when(a.started)} | {a.seconds / 60:.1f} min | `{a.machine.commit}` |"
            f" {a.machine.cores} cores, {a.machine.memory_gib:.1f} GiB | {_last_run_text(s)} |")
    return lines


def failure_notes(stored: Mapping[str, Stored], names: Sequence[str]) -> list[str]:
    """The paragraph under RESULTS.md's figure table naming the benchmarks whose last run failed."""
    notes = []
    for name in names:
        s = stored.get(name)
        if s is None or s.last_failure is None:
            continue
        kept = f"its figures above are from {when(s.measured.started)}" if s.measured else "no figures yet"
        notes.append(f"{name} ({when(s.last_failure.attempt.started)}, {s.last_failure.reason}: {kept})")
    return ["", f"**Last run failed:** {'; '.join(notes)}. That run's output says why."] if notes else []
