"""Run the benchmarks, store each one's figures, and rewrite bench/RESULTS.md and the README's table.

The runner only: each benchmark runs as its own process (``python -m bench.NAME --json …``), its
JSON is stored at once in ``bench/results/NAME.json`` with the date, commit, machine and command
(:mod:`bench.report`), and at the end RESULTS.md and the README's headline table are rendered
from *every* stored result, not just this run's. So ``--only``/``--skip`` rerun some benchmarks
and keep the others' figures (both reports then say which date and commit each came from), a
benchmark that fails keeps its previous figures and is reported as failed, and an interrupted
run keeps what finished (``--render-only`` renders it).

One embedded PostgreSQL/Redis pair (or DATABASE_URL/REDIS_URL from the environment) serves
all of them, so no benchmark pays for starting a database; each benchmark still starts its
own node process per run (the catalog benchmark loads its own scratch database on that
PostgreSQL). The source is encoded before the first benchmark so no figure includes that. About
55 minutes on 2 cores for all of them.

    .venv/bin/python -m bench.run_all                      # every benchmark
    .venv/bin/python -m bench.run_all --only NAME ...      # these; the others' figures are kept
    .venv/bin/python -m bench.run_all --skip NAME ...      # all but these; their figures are kept
    .venv/bin/python -m bench.run_all --render-only        # run nothing, re-render the reports
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness as h
from bench import report

# (name, module, arguments): runs and lengths chosen to fit about half an hour on 2 cores.
PLAN: list[tuple[str, str, list[str]]] = [
    ("first_playlist", "bench.first_playlist", ["--runs", "3", "--reps", "5"]),
    ("ingest_to_part", "bench.ingest_to_part", ["--runs", "3", "--seconds", "30"]),
    # Three runs: where hls.js tunes in varies from run to run and it never catches up, so
    # a median of two could be a latency no viewer saw.
    ("glass_to_glass", "bench.glass_to_glass", ["--runs", "3", "--seconds", "60", "--warmup", "10"]),
    ("passthrough_capacity", "bench.passthrough_capacity", ["--runs", "1", "--window", "12"]),
    ("ladder", "bench.ladder", ["--runs", "3", "--node-runs", "1"]),
    ("whip_glass_to_glass", "bench.whip_glass_to_glass", ["--runs", "3"]),
    # About 3-4 minutes a run: ramps viewers against the edge and nginx in turn.
    ("edge_load", "bench.edge_load", ["--runs", "2"]),
    # About 4-5 minutes a run: two chat nodes and thousands of Socket.IO clients, stepped up
    # until delivery breaks (each step holds its clients for more than one 25 s heartbeat).
    ("chat_fanout", "bench.chat_fanout", ["--runs", "2"]),
    # About 3.5 minutes a run: 21 s of 720p and of 1080p, each transcoded three times (Tributary,
    # ffmpeg with the same x264 settings, ffmpeg with its default threading) at ~0.4-1× real time.
    ("vod_transcode", "bench.vod_transcode", ["--runs", "3"]),
    # About half a minute a run: 512 MiB through tus to local disk and to S3 (moto), and copies.
    ("vod_upload", "bench.vod_upload", ["--runs", "3"]),
    # Last: loading 100,000 videos and 1,000,000 views keeps PostgreSQL busy for a while.
    ("catalog_api", "bench.catalog_api", ["--runs", "3"]),
]
NAMES = [name for name, _, _ in PLAN]
"""Every benchmark, in PLAN order: the reports are rendered from all of them, whichever ran."""


def run_child(module: str, args: list[str], env: dict[str, str]) -> int:
    """Run one benchmark in its own process; on Ctrl-C/SIGTERM pass it on and wait for cleanup."""
    proc = subprocess.Popen([h.PYTHON, "-m", module, *args], cwd=h.REPO, env=env)
    try:
        return proc.wait()
    except BaseException:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        raise


async def services(tmp: Path) -> tuple[Any, dict[str, str]]:
    """One PostgreSQL/Redis pair for every benchmark (unless the environment names its own)."""
    from tributary.embedded import EmbeddedServices

    embedded = EmbeddedServices()
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = await embedded.start_postgres(tmp)
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = await embedded.start_redis(tmp)
    return embedded, env


def _shown(path: Path) -> str:
    return str(path.relative_to(h.REPO)) if path.is_relative_to(h.REPO) else str(path)


def read_result(code: int, out: Path) -> tuple[dict[str, Any] | None, str]:
    """A benchmark's figures, or None and why not: a zero exit without a readable JSON file is a
    failure too (a crash while writing it must not replace good stored figures)."""
    if code != 0:
        return None, f"exit {code}"
    try:
        return json.loads(out.read_text()), ""
    except FileNotFoundError:
        return None, "exit 0 without writing its JSON"
    except (OSError, ValueError) as e:
        return None, f"unreadable JSON ({e})"


def run_plan(selected: list[tuple[str, str, list[str]]]) -> list[str]:
    """Run ``selected`` in PLAN order, storing each result (or failure) as soon as it ends, so an
    interrupted run keeps what finished; the names that failed."""
    run_started = dt.datetime.now(dt.UTC)
    h.print_header("run_all: " + " ".join(name for name, _, _ in selected), h.machine())
    h.ensure_source(h.SourceSpec())
    tmp = Path(tempfile.mkdtemp(prefix="tributary-bench-all-"))
    embedded, env = asyncio.run(services(tmp))
    failed = []
    try:
        for name, module, bench_args in selected:
            out = tmp / f"{name}.json"
            command = ".venv/bin/python -m " + module + " " + shlex.join(bench_args)
            print(f"\n### {command}", flush=True)
            machine = h.machine()  # per benchmark: the tree may change during an hour-long run
            started, t0 = dt.datetime.now(dt.UTC), time.monotonic()
            code = run_child(module, [*bench_args, "--json", str(out)], env)
            attempt = report.Attempt(run_started, started, time.monotonic() - t0, command, machine)
            result, reason = read_result(code, out)
            if result is None:
                report.store_failure(report.RESULTS_DIR, name, attempt, reason)
                print(f"run_all: {name} FAILED ({reason}); its previously stored figures are kept",
                      file=sys.stderr, flush=True)
                failed.append(name)
            else:
                report.store_success(report.RESULTS_DIR, name, attempt, result)
                print(f"run_all: {name} stored in {_shown(report.result_path(report.RESULTS_DIR, name))}",
                      flush=True)
    finally:
        asyncio.run(h.stop_embedded(embedded, tmp))
        shutil.rmtree(tmp, ignore_errors=True)
    return failed


def render() -> int:
    """Rewrite RESULTS.md and the README's headline table from every stored result."""
    stored = report.load_all(report.RESULTS_DIR, NAMES)
    try:
        written = report.write_reports(stored, NAMES)
    except (report.IncompleteResults, report.MarkerError) as e:
        print(f"run_all: {e}", file=sys.stderr)
        return 2
    print("rewrote " + ", ".join(_shown(p) for p in written) if written
          else "RESULTS.md and the README's table were already up to date")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Exit status: 0 all ran and both reports were rewritten, 1 a benchmark failed,"
        " 2 the reports could not be rewritten (missing results or README markers).")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--only", nargs="+", choices=NAMES, metavar="NAME",
                       help=f"run only these ({', '.join(NAMES)}); the others' stored figures are kept")
    which.add_argument("--skip", nargs="+", default=[], choices=NAMES, metavar="NAME",
                       help="run all but these; their stored figures are kept")
    which.add_argument("--render-only", action="store_true",
                       help="run nothing: rewrite RESULTS.md and the README's table from bench/results/")
    args = parser.parse_args()
    if args.render_only:
        return render()
    selected = [p for p in PLAN if (p[0] in args.only if args.only else p[0] not in args.skip)]
    t0 = time.monotonic()
    try:
        failed = run_plan(selected)
    except KeyboardInterrupt:
        print("run_all: interrupted; the benchmarks that finished are stored in bench/results/"
              " (--render-only renders them)", file=sys.stderr)
        return 130
    print(f"\nran {len(selected)} benchmark(s) in {(time.monotonic() - t0) / 60:.1f} min"
          + (f"; FAILED: {', '.join(failed)} (previous figures kept)" if failed else ""))
    rendered = render()
    return rendered or (1 if failed else 0)


if __name__ == "__main__":
    raise SystemExit(main())
