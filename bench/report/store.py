"""The stored results: ``bench/results/<name>.json``, one file per benchmark.

Each benchmark's ``--json`` output is kept together with when, where and how it was measured
(:class:`Attempt`), and the reports are rendered from *all* stored results rather than from one
run's. That is what lets ``run_all --only NAME`` rerun one benchmark without dropping every other
benchmark's figures, and a failed run keep the figures stored before it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import harness as h

RESULTS_DIR = h.REPO / "bench" / "results"


@dataclass(frozen=True)
class Attempt:
    """One run of one benchmark by ``run_all``: the figures mean little without these."""

    run_started: dt.datetime
    """When the ``run_all`` invocation began: benchmarks sharing it were measured together."""
    started: dt.datetime
    seconds: float
    command: str
    machine: h.Machine

    def to_json(self) -> dict[str, Any]:
        return {"run_started": self.run_started.isoformat(), "started": self.started.isoformat(),
                "seconds": round(self.seconds, 1), "command": self.command,
                "machine": dataclasses.asdict(self.machine)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Attempt:
        return cls(run_started=dt.datetime.fromisoformat(data["run_started"]),
                   started=dt.datetime.fromisoformat(data["started"]), seconds=float(data["seconds"]),
                   command=data["command"], machine=h.Machine(**data["machine"]))


@dataclass(frozen=True)
class Failure:
    """The latest run of a benchmark failed; the figures stored before it are kept."""

    attempt: Attempt
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {**self.attempt.to_json(), "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Failure:
        return cls(Attempt.from_json(data), data["reason"])


@dataclass(frozen=True)
class Stored:
    """What ``bench/results/<name>.json`` holds: the last good result and how it was measured
    (both absent when the benchmark never succeeded), and the latest failure if the latest run
    failed (kept in the file so every later rendering still notes it)."""

    name: str
    measured: Attempt | None = None
    result: dict[str, Any] | None = None
    last_failure: Failure | None = None

    def to_json(self) -> dict[str, Any]:
        # Insertion order, not sort_keys: the benchmark's own key order is what the tables
        # iterate over (sources 720p30 before 1080p30, …), and it is already stable.
        out: dict[str, Any] = {"benchmark": self.name}
        if self.measured is not None:
            out["measured"] = self.measured.to_json()
        if self.last_failure is not None:
            out["last_failure"] = self.last_failure.to_json()
        if self.result is not None:
            out["result"] = self.result
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Stored:
        return cls(name=data["benchmark"],
                   measured=Attempt.from_json(data["measured"]) if "measured" in data else None,
                   result=data.get("result"),
                   last_failure=Failure.from_json(data["last_failure"]) if "last_failure" in data else None)


def result_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.json"


def load(directory: Path, name: str) -> Stored | None:
    path = result_path(directory, name)
    if not path.is_file():
        return None
    return Stored.from_json(json.loads(path.read_text(encoding="utf-8")))


def load_all(directory: Path, names: Iterable[str]) -> dict[str, Stored]:
    """The stored results of ``names`` that exist (files for benchmarks no longer run are ignored)."""
    return {name: s for name in names if (s := load(directory, name)) is not None}


def save(directory: Path, stored: Stored) -> Path:
    """Write one result, indented and with a final newline so git diffs stay readable; through
    a temporary file, so an interrupted run never leaves half a result behind."""
    directory.mkdir(parents=True, exist_ok=True)
    path = result_path(directory, stored.name)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(stored.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def store_success(directory: Path, name: str, attempt: Attempt, result: dict[str, Any]) -> Stored:
    """A good run replaces the stored result and clears any earlier failure."""
    stored = Stored(name, measured=attempt, result=result)
    save(directory, stored)
    return stored


def store_failure(directory: Path, name: str, attempt: Attempt, reason: str) -> Stored:
    """A failed run keeps the figures stored before it and records that it failed."""
    previous = load(directory, name) or Stored(name)
    stored = dataclasses.replace(previous, last_failure=Failure(attempt, reason))
    save(directory, stored)
    return stored


def missing(stored: Mapping[str, Stored], names: Iterable[str]) -> list[str]:
    """Benchmarks with nothing stored, not even a failure: rendering now would drop their rows."""
    return [name for name in names if name not in stored]


def results(stored: Mapping[str, Stored], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The last good result of each benchmark that has one: what the tables are made of."""
    return {name: s.result for name in names if (s := stored.get(name)) and s.result}


def measured(stored: Mapping[str, Stored], names: Sequence[str]) -> list[tuple[str, Attempt]]:
    """How each benchmark with figures was measured, in ``names`` order."""
    return [(name, s.measured) for name in names if (s := stored.get(name)) and s.measured]
