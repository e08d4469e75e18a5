"""Stored benchmark results, and bench/RESULTS.md and the README's headline table rendered from them.

``bench.run_all`` runs benchmarks; this module keeps what they measured and turns it into text.
Each benchmark's ``--json`` output is stored in ``bench/results/<name>.json`` together with when,
where and how it was measured (:class:`Attempt`), and both reports are rendered from *all*
stored results rather than from one run's. That is what lets ``run_all --only NAME`` rerun one
benchmark without dropping every other benchmark's figures, and lets ``--render-only`` redo the
text after a change to the rendering without an hour of measuring. Because the figures can then
come from different dates, commits or machines, both reports say when each one was measured.

Rendering is a pure function of the stored results (no "rendered at" time), so re-rendering
unchanged results changes nothing in git. The README is only touched between the
``<!-- bench:headline -->`` and ``<!-- /bench:headline -->`` lines; everything around them stays
byte for byte as written by hand.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import chat_fanout, edge_load, vod_transcode, vod_upload
from bench import harness as h

BENCH = Path(__file__).resolve().parent
RESULTS_DIR = BENCH / "results"
RESULTS_MD = BENCH / "RESULTS.md"
README = h.REPO / "README.md"
HEADLINE_START = "<!-- bench:headline -->"
HEADLINE_END = "<!-- /bench:headline -->"

# ------------------------------------------------------------------------------------ stored results


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


# ------------------------------------------------------------------------------------ provenance


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _hardware(m: h.Machine) -> h.Machine:
    """The machine without the commit: two benchmarks on one box at two commits share it."""
    return dataclasses.replace(m, commit="")


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _measured(stored: Mapping[str, Stored], names: Sequence[str]) -> list[tuple[str, Attempt]]:
    return [(name, s.measured) for name in names if (s := stored.get(name)) and s.measured]


def _sources(stored: Mapping[str, Stored], names: Sequence[str]) -> list[str]:
    """The harness source the live benchmarks published (those whose result names one)."""
    results = [s.result for name in names if (s := stored.get(name)) and s.result]
    return _unique(r["source"] for r in results if isinstance(r.get("source"), str))


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
    return f"**failed** {_when(f.attempt.started)} on `{f.attempt.machine.commit}` ({f.reason}); {kept}"


def _provenance(stored: Mapping[str, Stored], names: Sequence[str]) -> list[str]:
    """RESULTS.md's header: when, on what and on which commit, per benchmark when they differ."""
    measured = _measured(stored, names)
    runs = _unique(a.run_started for _, a in sorted(measured, key=lambda x: x[1].run_started))
    commits = _unique(a.machine.commit for _, a in measured)
    machines = _unique(_hardware(a.machine) for _, a in measured)
    lines = []
    if not measured:
        lines.append("- Measured: nothing yet.")
    elif len(runs) == 1 and len(commits) == 1:
        minutes = sum(a.seconds for _, a in measured) / 60
        lines += [f"- Date: {_when(runs[0])} (one run of `bench.run_all`, {minutes:.1f} min of benchmarks)",
                  f"- Commit: `{commits[0]}`"]
    else:
        lines.append(
            f"- **Measured at different dates or commits:** {len(runs)} run(s) of `bench.run_all`"
            f" from {_when(runs[0])} to {_when(runs[-1])}, on commit(s)"
            f" {', '.join(f'`{c}`' for c in commits)}; each benchmark's own date and commit are in"
            " the table below.")
    if len(machines) == 1:
        lines.append(f"- Machine: {_machine_text(machines[0])}. The machine is shared: other work"
                     " may have run too.")
    elif machines:  # a new kernel build or ffmpeg is enough: say what, the table has the rest
        lines.append("- **Machine details differ between benchmarks** (cores and memory of each in"
                     " the table below): " + "; ".join(_machine_text(m) for m in machines) + ".")
    sources = _sources(stored, names)
    if sources:
        lines.append(f"- Source (every publisher; encoded once, then copied): {'; '.join(sources)}")
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
            f"| {name} | {_when(a.started)} | {a.seconds / 60:.1f} min | `{a.machine.commit}` |"
            f" {a.machine.cores} cores, {a.machine.memory_gib:.1f} GiB | {_last_run_text(s)} |")
    return lines


def _failure_notes(stored: Mapping[str, Stored], names: Sequence[str]) -> list[str]:
    notes = []
    for name in names:
        s = stored.get(name)
        if s is None or s.last_failure is None:
            continue
        kept = f"its figures above are from {_when(s.measured.started)}" if s.measured else "no figures yet"
        notes.append(f"{name} ({_when(s.last_failure.attempt.started)}, {s.last_failure.reason}: {kept})")
    return ["", f"**Last run failed:** {'; '.join(notes)}. That run's output says why."] if notes else []


# ------------------------------------------------------------------------------------ RESULTS.md


def _ms(s: dict[str, float] | None, digits: int = 0) -> str:
    return h.fmt_spread(s, " ms", 1000, digits) if s else "n/a"


def _ms1(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def render_results(stored: Mapping[str, Stored], names: Sequence[str]) -> str:
    """RESULTS.md: provenance, one table of every headline figure, then each benchmark's detail."""
    results = {name: s.result for name in names if (s := stored.get(name)) and s.result}
    lines = [
        "# Benchmark results",
        "",
        "Rewritten by `.venv/bin/python -m bench.run_all` from the stored results in"
        " `bench/results/` — do not edit by hand.",
        "",
        *_provenance(stored, names),
        "",
        "| Benchmark | Figure | Median (min–max over runs) |",
        "| --- | --- | --- |",
    ]
    fp = results.get("first_playlist", {})
    if "figures" in fp:
        f = fp["figures"]
        lines += [
            f"| first playlist ({fp['reps']} fresh streams per run) | first keyframe sent → first"
            f" playable media playlist, median | {_ms(f['median'])} |",
            f"| | same, max | {_ms(f['max'])} |",
            f"| | RTMP connect start → first playable playlist, median | {_ms(f['connect_median'])} |",
        ]
    ip = results.get("ingest_to_part", {})
    if "figures" in ip:
        f = ip["figures"]
        lines += [
            f"| ingest → part ({ip['seconds']:g} s real-time stream per run) | every RTMP message:"
            f" sent → its part fetchable, p50 | {_ms(f['msg_p50'])} |",
            f"| | every message, p95 | {_ms(f['msg_p95'])} |",
            f"| | message completing each part, p50 | {_ms(f['last_p50'])} |",
            f"| | message completing each part, p95 | {_ms(f['last_p95'])} |",
            f"| | next part's first video frame sent → part fetchable, p50 | {_ms(f['closing_p50'])} |",
            f"| | node CPU, one stream + one LL-HLS client | "
            f"{h.fmt_spread(f['node_cpu_pct'], '% of a core', digits=1)} |",
        ]
    gg = results.get("glass_to_glass", {})
    if "figures" in gg:
        f = gg["figures"]
        lines += [
            f"| glass to glass (hls.js, Chromium; {gg['warmup']:g} s warm-up dropped, {gg['seconds']:g} s"
            f" measured per run) | latency p50 | {_ms(f['p50'])} |",
            f"| | latency p95 | {_ms(f['p95'])} |",
            f"| | latency max | {_ms(f['max'])} |",
            f"| | stalls (`waiting` events) after warm-up | {h.fmt_spread(f['stalls'])} |",
            f"| | page open → first frame | {h.fmt_spread(f['time_to_first_frame'], ' s', digits=2)} |",
        ]
    cap = results.get("passthrough_capacity", {})
    if "figures" in cap:
        f = cap["figures"]
        run = cap["runs"][-1]
        lines += [
            f"| passthrough capacity (one node process) | largest healthy N | "
            f"{h.fmt_spread(f['max_healthy_streams'])} streams (first unhealthy:"
            f" {run['first_unhealthy_streams']}) |",
            f"| | node CPU per stream at N={run['moderate_n']} | "
            f"{h.fmt_spread(f['cpu_per_stream_moderate'], '% of a core', digits=2)} |",
            f"| | marginal node CPU per added stream (fit over healthy steps) | "
            f"{h.fmt_spread(f['marginal_cpu_per_stream'], '% of a core', digits=2)} |",
        ]
    lad = results.get("ladder", {})
    for label, f in lad.get("in_process", {}).get("figures", {}).items():
        rungs = "+".join(lad["in_process"]["runs"][0][label]["ladder"]["rungs"])
        lines += [
            f"| ladder, {label} source passed through + {rungs} encoded (in process) | realtime factor |"
            f" {h.fmt_spread(f['realtime_factor'], '×', digits=2)} |",
            f"| | CPU at real time | {h.fmt_spread(f['cores_at_realtime'], ' cores', digits=2)} |",
        ]
        nf = lad.get("node", {}).get("figures", {}).get(label)
        if nf:
            lines.append(f"| ladder, {label} (one node process, real-time publishers) | largest healthy N |"
                         f" {h.fmt_spread(nf['max_healthy_streams'])} streams |")
            lines.append(f"| | node CPU at N=1 | {h.fmt_spread(nf['node_cpu_pct_n1'], '% of a core')} |")
            for key in sorted(k for k in nf if k.endswith("_extra_p50")):
                rung = key.removesuffix("_extra_p50")
                lines.append(f"| | extra latency of {rung} over the passthrough, p50 / p95 |"
                             f" {_ms(nf[key])} / {_ms(nf[f'{rung}_extra_p95'])} |")
    wg = results.get("whip_glass_to_glass", {})
    if "figures" in wg:
        f = wg["figures"]
        lines += [
            f"| WHIP glass to glass (Chromium publish page → hls.js; {wg['warmup']:g} s warm-up,"
            f" {wg['seconds']:g} s measured per run) | latency p50 | {_ms(f['p50'])} |",
            f"| | latency p95 | {_ms(f['p95'])} |",
            f"| | Start → WHIP connected | {h.fmt_spread(f['time_to_connected'], ' s', digits=2)} |",
            f"| | node CPU (WHIP decode + encode, packager, ladder) |"
            f" {h.fmt_spread(f['node_cpu_percent'], '% of a core')} |",
        ]
    lines += _edge_load_rows(results.get("edge_load", {}))
    lines += _chat_fanout_rows(results.get("chat_fanout", {}))
    lines += _vod_transcode_rows(results.get("vod_transcode", {}))
    lines += _vod_upload_rows(results.get("vod_upload", {}))
    api = results.get("catalog_api", {})
    if "figures" in api:
        f = api["figures"]
        lines += [
            f"| catalog API ({api['videos']:,} videos, {api['views']:,} views; one node process) |"
            f" search p50 | {_ms(f['search_p50'], 1)} |",
            f"| | search p95 | {_ms(f['search_p95'], 1)} |",
            f"| | trending p50 | {_ms(f['trending_p50'], 1)} |",
            f"| | trending p95 | {_ms(f['trending_p95'], 1)} |",
            f"| | video page (3 concurrent calls) p50 | {_ms(f['video_page_p50'], 1)} |",
            f"| | video page p95 | {_ms(f['video_page_p95'], 1)} |",
            f"| | `GET /api/v1/videos/{{id}}` | {h.fmt_spread(f['rps'], ' req/s')} |",
        ]
    lines += _failure_notes(stored, names)
    if "runs" in cap:
        lines += [
            "",
            f"## Capacity steps (last run; {cap['warmup']:g} s warm-up + {cap['window']:g} s measured per step)",
            "",
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
                f"| {s['streams']}{'*' if s['refinement'] else ''} | {s['node_cpu_pct']:.1f}% | {s['cpu_per_stream_pct']:.2f}% |"
                f" {s['node_rss_mib']:.0f} MiB | {s['ffmpeg_cpu_pct']:.1f}% | {s['bench_cpu_pct']:.1f}% |"
                f" {s['machine_cpu_pct']:.1f}% | {h.ms(_num(s['p95']))} | {_num(s['pace']):.3f} |"
                f" {_num(s['worst_lag']):.2f} s | {health} |")
    if "runs" in gg:
        lines += ["", "## Glass to glass, per run", "",
                  "| run | p50 | p95 | max | stalls | stalled s | hls.js latency at end | hls.js target |"
                  " buffered ahead at end | dropped frames |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for i, r in enumerate(gg["runs"], 1):
            lines.append(
                f"| {i} | {h.ms(_num(r['p50']))} | {h.ms(_num(r['p95']))} | {h.ms(_num(r['max']))} |"
                f" {r['stalls']} | {r['stall_seconds']:.2f} | {_num(r['hls_latency_end']):.2f} s |"
                f" {_num(r['hls_target_latency']):.2f} s | {_num(r.get('forward_buffer_end')):.2f} s |"
                f" {r['dropped_frames']}/{r['decoded_frames']} |")
    lines += _edge_load_section(results.get("edge_load", {}))
    lines += _chat_fanout_section(results.get("chat_fanout", {}))
    lines += _vod_transcode_section(results.get("vod_transcode", {}))
    lines += _vod_upload_section(results.get("vod_upload", {}))
    if "runs" in api:
        am = api["machine"]
        lines += [
            "",
            "## Catalog API, per run",
            "",
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
    lines += [
        "",
        "## How each figure is measured",
        "",
        "- The node runs as its own process (`python -m tributary serve origin`); its CPU is its"
        " own user+system time from `/proc` over the window, all threads included.",
        "- Publish send times are logged by a PyAV (libavformat RTMP) publisher at the moment"
        " each FLV tag is written to the socket; libavformat's interleaver holds each packet until"
        " the next is muxed, which the log accounts for.",
        "- A part's availability is the arrival of the blocking playlist reload"
        " (`_HLS_msn`/`_HLS_part`) that first lists it; messages map to parts by the decode-time"
        " ranges read from each part's `tfdt`/`trun`.",
        "- Glass to glass is the watch page's own `window.tributary.latencySamples`"
        " (now − hls.js `playingDate`). PROGRAM-DATE-TIME is the ingest wall clock, so this is"
        " media arriving at the node → on screen: publisher-send → screen minus the publisher-side"
        " delay, which on loopback is negligible. The page runs hls.js with its defaults"
        " (`maxLiveSyncPlaybackRate` 1: it never speeds up), so it keeps the distance from the"
        " live edge it tuned in at; the per-run table shows hls.js's own latency against its"
        " target (PART-HOLD-BACK) and how much media it had buffered ahead.",
        "- The node runs with its default ABR ladder (a 720p source gets 480p and 360p encoded)"
        " except in the passthrough capacity benchmark, which turns it off to price the"
        " passthrough path alone. `bench/ladder.py` prices the ladder: in process through the"
        " real `Transcoder` as fast as it goes, and on a node with N real-time publishers"
        " (healthy: nothing shed, every rendition's live edge ≤ 1.5 s and pace ≥ 0.95); a rung's"
        " extra latency pairs parts by MSN and video start (the renditions are aligned).",
        "- WHIP glass to glass: one Chromium publishes a canvas that draws `Date.now()` as a"
        " pixel pattern through the `/publish` page; the `/watch` page decodes the pattern of the"
        " frame on screen, so the figure is canvas → WebRTC → node encode → LL-HLS → screen.",
        "- Catalog API: requests from the benchmark process over loopback to a node process"
        " (`bench/catalog_api.py` has the data and query mix): search 300 requests one at a time"
        " (common, rare, two-word, phrase and typo queries, filters, the three sorts); trending"
        " 200 (first and second pages); a video page is the video, its channel and the viewer's"
        " reaction fetched concurrently, timed to the slowest, for 200 listed videos;"
        " `GET /api/v1/videos/{id}` throughput is `wrk` (1 thread, 64 connections, 10 s) or, without"
        " it, an aiohttp client with 64 requests in flight, over 1,000 listed videos.",
        "- Edge under LL-HLS load (`bench/edge_load.py`): Python viewers that behave like hls.js"
        " in low-latency mode (blocking playlist reload for the next part, the preload-hinted part"
        " requested as soon as each playlist arrives, delta playlists) against one edge process"
        " pinned to one core, then against Debian's nginx (proxy_cache, proxy_cache_lock, keyed"
        " on the path and the three Delivery Directives, one worker on the same core). A part's"
        " publication is when a probe's blocking reload held directly at the origin was answered;"
        " delivery is when a viewer had the part's last byte. Origin fetches are the edge's"
        " `tributary_edge_origin_fetches_total` and nginx's upstream-only access log, per part"
        " published in the window. nginx wakes requests waiting on `proxy_cache_lock` on a"
        " 500 ms timer, not when the fetch lands, which sets its latency.",
        CHAT_MEASURES,
        *VOD_MEASURES,
        "",
        "## Commands",
        "",
        *[f"- `{a.command}`" for _, a in _measured(stored, names)],
        "",
    ]
    return "\n".join(lines)


def _edge_load_rows(el: dict[str, Any]) -> list[str]:
    """Headline rows of bench/edge_load.py: the edge's viewer capacity and nginx beside it."""
    if "figures" not in el:
        return []
    f = el["figures"]
    lines = [
        f"| edge under LL-HLS load (one edge process on one core; one stream, 200 ms parts;"
        f" hls.js-like viewers) | largest viewer count with p99 part delivery ≤ 100 ms after"
        f" publication at the origin, no errors |"
        f" {edge_load.capacity_text(f['max_viewers'], f['max_viewers_lower_bound'])} viewers |",
        f"| | origin fetches per part at that count |"
        f" {h.fmt_spread(f['origin_fetches_per_part'], digits=2)} |",
        f"| | edge CPU at that count | {h.fmt_spread(f['edge_cpu_pct_at_max'], '% of its core')} |",
        f"| | edge CPU per 100 viewers (1,000 requests/s) |"
        f" {h.fmt_spread(f['edge_cpu_pct_per_100_viewers'], '% of a core', digits=1)} |",
        f"| | {el['nginx']} (proxy_cache + proxy_cache_lock, same core, same viewers): largest"
        f" such count | {h.fmt_spread(f['nginx_max_viewers'])} viewers |",
        f"| | nginx origin fetches per part at the edge's count |"
        f" {h.fmt_spread(f['nginx_origin_fetches_per_part'], digits=2)} |",
    ]
    runs = len(el["runs"])
    healthy = [s for s in el["steps"] if s["tributary"]["healthy_runs"] == s["runs"] == runs]
    if healthy:
        s = healthy[-1]
        lines.append(
            f"| | at {s['viewers']} viewers, Tributary / nginx: req/s, p99 part delivery |"
            f" {h.fmt_spread(s['rps_ratio'], '×', digits=2)},"
            f" {h.fmt_spread(s['p99_ratio'], '×', digits=2)} |")
    return lines


def _edge_load_section(el: dict[str, Any]) -> list[str]:
    if "steps" not in el:
        return []
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in el["runs"])
    return [
        "",
        f"## Edge under LL-HLS load, per step (medians of {len(el['runs'])} runs;"
        f" {el['ramp']:g} s join + {el['warmup']:g} s warm-up + {el['window']:g} s measured per step"
        " and server)",
        "",
        f"Measured {el['started']} on commit `{el['machine']['commit']}`."
        f" The server under test (edge, then {el['nginx']}) had core {el['cores']['server']} to itself"
        f" as far as this benchmark goes; the origin, publisher, probe and {el['generators']}"
        f" Python load generator process(es) ran on core(s) {el['cores']['load']}. Load average"
        f" before each run: {loads}. Each count is summarised over the runs that measured it"
        " (the bisection step differs between runs). *Stalled parts* reached even their first"
        " viewer more than 100 ms late (in brackets: while no generator lagged, so the server's);"
        " *run-queue wait* is the time the server was runnable but another process had its core"
        " (the machine is shared); a generator loop lag near the p99 means the generator, not the"
        " server, set the figure. Ratios are Tributary / nginx.",
        "",
        *edge_load.step_table(el["steps"]),
    ]


def _chat_fanout_rows(cf: dict[str, Any]) -> list[str]:
    """Headline rows of bench/chat_fanout.py: fan-out latency and clients held, two chat nodes."""
    if "figures" not in cf:
        return []
    f = cf["figures"]
    first = ", ".join("none" if n is None else str(n) for n in f["first_unhealthy"])
    lines = [
        f"| chat (two `serve chat` nodes, one live room; browser-like Socket.IO clients: WebSocket,"
        f" permessage-deflate{' offered' if cf['deflate'] else ' not offered'}, {cf['ping_interval']:g} s"
        f" heartbeat) | fan-out at {cf['rate']:g} messages/s: largest client count (both nodes,"
        f" half on each) with every client staying, every message delivered, p99 ≤ 100 ms |"
        f" {chat_fanout.capacity_text(f['max_clients'], f['max_clients_lower_bound'])} clients"
        f" (first unhealthy: {first}) |",
        f"| | delivery p50 / p99 at that count | {_ms(f['at_max_p50'])} / {_ms(f['at_max_p99'])} |",
        f"| | p99 on the sender's node / on the other node (through Redis) |"
        f" {_ms(f['at_max_local_p99'])} / {_ms(f['at_max_remote_p99'])} |",
        f"| | CPU of the busier node at that count |"
        f" {h.fmt_spread(f['at_max_node_cpu_pct'], '% of a core')} |",
        f"| | node CPU per delivery (one message to one client) |"
        f" {h.fmt_spread(f['at_max_us_per_delivery'], ' µs', digits=1)} |",
    ]
    if "max_held" in f:
        unheld = ", ".join("none" if n is None else str(n) for n in f["first_unheld"])
        lines += [
            f"| | clients held (both nodes, half on each; joined, connected and pinged through"
            f" {cf['hold']:g} s, nobody sending) | {chat_fanout.capacity_text(f['max_held'], f['max_held_lower_bound'])}"
            f" clients (first not held: {unheld}) |",
            f"| | node RSS per 1,000 clients held | {h.fmt_spread(f['held_rss_mib_per_1000'], ' MiB')} |",
            f"| | node CPU holding them (heartbeats only), busier node |"
            f" {h.fmt_spread(f['held_node_cpu_pct'], '% of a core', digits=1)} |",
        ]
    return lines


def _chat_fanout_section(cf: dict[str, Any]) -> list[str]:
    if "steps" not in cf:
        return []
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in cf["runs"])
    lines = [
        "",
        f"## Chat, per step (medians of {len(cf['runs'])} runs)",
        "",
        f"Measured {cf['started']} on commit `{cf['machine']['commit']}`; {cf['machine']['cores']}"
        f" cores shared by both chat nodes, Redis and {cf['generators']} Python load generator"
        f" processes. Load average before each run: {loads}. Clients offer permessage-deflate"
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


CHAT_MEASURES = (
    "- Chat (`bench/chat_fanout.py`, with `bench/chat_clients.py` and `bench/socketio_client.py`"
    " as the load generator): two `serve chat` nodes sharing Redis and PostgreSQL, N clients in"
    " one live room split evenly between them, speaking Engine.IO 4 / Socket.IO 5 over WebSocket"
    " as a browser does (permessage-deflate offered, every ping answered). Fan-out: M signed-in"
    " senders at one message a second each (under the default limit); each message's text carries"
    " its send time (CLOCK_MONOTONIC), every client computes send → arrival. A step is healthy"
    " when every client joined and stayed, every message sent in the window reached every client"
    " within 3 s, p99 ≤ 100 ms and no send was refused; the ramp stops at the first unhealthy"
    " step after one bisection step. Held: nobody sends; a stage is held when every client"
    " joined, stayed connected and was pinged and answered during the hold (longer than the ping"
    " interval)."
)


VOD_MEASURES = [
    "- VOD transcode (`bench/vod_transcode.py`): generated sources with real motion, detail and"
    " grain (a pan over a texture, a rotating close-up, `testsrc2`; cached), transcoded with the"
    " default `TranscodeSettings()` by `vod.transcode.pipeline.transcode_video` on a real catalog"
    " and local storage (end to end: source copied to scratch, niced child, every output stored,"
    " catalog transaction), and by one Debian `ffmpeg` process making the same ladder from the same"
    " plan (`plan_transcode`): rungs, preset, B-frames, bitrates, VBV, GOP, keyframes forced every"
    " segment, scene-cut off, bilinear scaling in one thread, AAC with `aresample=async=1`, HLS fMP4"
    " segments with an audio group, poster, thumbnails and storyboard. PyAV opens x264 with sliced"
    " threads, so the *same settings* ffmpeg run passes `-thread_type slice`; the *default threading*"
    " run leaves ffmpeg's frame threads. Both at the transcode's niceness (+10); CPU includes the"
    " child processes. Ratios are Tributary's wall time over ffmpeg's.",
    "- VOD upload (`bench/vod_upload.py`): one random file through tuspy (8 MiB PATCHes) into a"
    " `serve origin` node (no job worker, so nothing transcodes), timed from the first PATCH to the"
    " video turning `processing` (received, fsynced, handed to storage); local storage on the same"
    " file system, or S3 on moto's server (its own process, loopback). Baselines in every run:"
    " `shutil.copyfile` of the same file on the same disk (to its return, and until fsynced), and"
    " for S3 aioboto3's managed `upload_file` and a part-at-a-time multipart upload to the same"
    " moto. Ratios are throughputs, Tributary ÷ baseline; measurements go in an order rotated from"
    " run to run, each starting with no dirty pages and the source file in the page cache.",
]


def _vod_transcode_rows(vt: dict[str, Any]) -> list[str]:
    """Headline rows of bench/vod_transcode.py: × real time of each side, the ratios."""
    lines = []
    for label, f in vt.get("figures", {}).items():
        ladder = "+".join(rung.split()[0] for rung in vt["ladders"][label])
        lines += [
            f"| VOD transcode, {label} source → {ladder} + audio + pictures (default transcode"
            f" settings) | Tributary (`transcode_video`, end to end), × real time |"
            f" {h.fmt_spread(f['tributary_realtime_factor'], '×', digits=2)} |",
            f"| | ffmpeg, same x264 settings (sliced threads), × real time |"
            f" {h.fmt_spread(f['ffmpeg_same_realtime_factor'], '×', digits=2)} |",
            f"| | Tributary time ÷ ffmpeg time, same settings |"
            f" {h.fmt_spread(f['ratio_ffmpeg_same'], digits=2)} |",
            f"| | ffmpeg, default threading (frame threads), × real time |"
            f" {h.fmt_spread(f['ffmpeg_default_realtime_factor'], '×', digits=2)} |",
            f"| | Tributary time ÷ ffmpeg time, default threading |"
            f" {h.fmt_spread(f['ratio_ffmpeg_default'], digits=2)} |",
            f"| | CPU, Tributary / ffmpeg same / ffmpeg default |"
            f" {h.fmt_spread(f['tributary_cpu_s'], ' s', digits=1)} /"
            f" {h.fmt_spread(f['ffmpeg_same_cpu_s'], ' s', digits=1)} /"
            f" {h.fmt_spread(f['ffmpeg_default_cpu_s'], ' s', digits=1)} |",
        ]
    return lines


def _vod_transcode_section(vt: dict[str, Any]) -> list[str]:
    if "runs" not in vt:
        return []
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in vt["runs"])
    lines = [
        "",
        f"## VOD transcode, per run ({len(vt['runs'])} runs)",
        "",
        f"Measured {vt['started']} on commit `{vt['machine']['commit']}`; load average before each"
        f" run: {loads} (it still counts the encoders of the run before). Sides run in a rotating"
        " order. *Others* is CPU that processes other than the benchmark and what it started took"
        " meanwhile (the machine is shared). Peak threads:"
        " the most threads the transcoding process had (Tributary's child, ffmpeg).",
        "",
    ]
    lines += [f"- {label}: {source}; ladder {', '.join(vt['ladders'][label])}"
              for label, source in vt["sources"].items()]
    first = vt["runs"][0]
    for label in vt["sources"]:
        x264 = {side: first[label][side]["x264"] for side in vod_transcode.SIDES}
        lines.append(f"- x264 threading, {label}: " + "; ".join(
            f"{vod_transcode.SIDE_LABELS[side]}: {vod_transcode.thread_options(x264[side])}"
            for side in vod_transcode.SIDES) + ". Other x264 options differing, Tributary vs ffmpeg"
            " same settings: " + (", ".join(f"{k} {a} vs {b}" for k, (a, b) in vod_transcode.differing(
                x264["tributary"], x264[vod_transcode.FFMPEG_SAME]).items()) or "none"))
    lines += [
        "",
        "| source | run | side | wall | × real time | CPU (child + this process) | cores busy |"
        " peak threads | top rendition | others |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in vt["sources"]:
        top = vt["ladders"][label][0].split()[0]
        for i, run in enumerate(vt["runs"], 1):
            for side in vod_transcode.SIDES:
                r = run[label][side]
                lines.append(
                    f"| {label} | {i} | {vod_transcode.SIDE_LABELS[side]} | {r['wall_s']:.2f} s |"
                    f" {r['realtime_factor']:.2f}× | {r['child_cpu_s']:.1f} + {r['parent_cpu_s']:.1f} s |"
                    f" {r['cores_busy']:.2f} | {r['peak_threads']} |"
                    f" {vod_transcode.top_kbps(r, top):.0f} kb/s | {r['others_cpu_pct']:.0f}% |")
    steps = ", ".join(f"{label} {h.fmt_spread(f['pictures_step_s'], ' s', digits=2)}"
                      for label, f in vt["figures"].items())
    label = next(iter(vt["sources"]))
    command = first[label][vod_transcode.FFMPEG_SAME]["command"]
    lines += [
        "",
        f"Tributary's pictures step (poster, thumbnails, storyboard; the ffmpeg runs make the same"
        f" pictures): {steps}. The {label} ffmpeg command, same settings (OUT: the run's output directory):",
        "",
        "```",
        command,
        "```",
    ]
    return lines


def _vod_upload_rows(vu: dict[str, Any]) -> list[str]:
    """Headline rows of bench/vod_upload.py: MB/s through tus and the ratios to plain copies."""
    if "figures" not in vu:
        return []
    f = vu["figures"]
    lines = []
    for target in vu["targets"]:
        where = "local disk" if target == "local" else "S3 (moto on loopback)"
        lines.append(f"| | tus → {where}, MB/s | {h.fmt_spread(f[f'{target}_mb_s'], ' MB/s')} |")
        lines += [f"| | … ÷ {vod_upload.LABELS[base]} (median {f[f'{base}_mb_s']['median']:.0f} MB/s) |"
                  f" {h.fmt_spread(f[f'{target}_ratio_{base}'], digits=2)} |"
                  for base in vod_upload.BASELINES[target]]
    group = (f"| VOD upload, {vu['mib']} MiB (tuspy, {vu['chunk_mib']} MiB PATCHes → one node; first"
             " byte → `processing`) |")
    return [group + lines[0][3:], *lines[1:]]


def _vod_upload_section(vu: dict[str, Any]) -> list[str]:
    if "runs" not in vu:
        return []
    loads = ", ".join(f"{r['load_average_before'][0]:.2f}" for r in vu["runs"])
    lines = [
        "",
        f"## VOD upload, per run ({vu['mib']} MiB of random bytes, MB/s = 10^6 bytes/s)",
        "",
        f"Measured {vu['started']} on commit `{vu['machine']['commit']}`; load average before each"
        f" run: {loads}. *Receive*: first PATCH sent → last PATCH answered (every byte fsynced, its"
        " offset committed); *hand-over*: last PATCH answered → video `processing` (the staged file"
        " copied into storage). CPU in seconds over the upload: node process / tus client (this"
        " process) / moto.",
        "",
        "| run | copy | copy + fsync | tus → local | receive, hand-over | CPU | tus → S3 |"
        " receive, hand-over | CPU | aioboto3 upload_file | aioboto3 part by part |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def tus(r: dict[str, Any], target: str) -> list[str]:
        t = r.get(f"{target}_tus")
        if t is None:
            return ["", "", ""]
        cpu = f"{t['node_cpu_s']:.1f} / {t['client_cpu_s']:.1f}"
        cpu += f" / {t['moto_cpu_s']:.1f} s" if "moto_cpu_s" in t else " s"
        return [f"{t['mb_s']:.0f} MB/s", f"{t['receive_mb_s']:.0f} MB/s, {t['hand_over_s']:.2f} s", cpu]

    for i, r in enumerate(vu["runs"], 1):
        s3 = [f"{r[n]['mb_s']:.0f} MB/s" if n in r else ""
              for n in ("aioboto3_managed", "aioboto3_sequential")]
        cells = [str(i), f"{r['copy']['mb_s']:.0f} MB/s", f"{r['copy_fsync']['mb_s']:.0f} MB/s",
                 *tus(r, "local"), *tus(r, "s3"), *s3]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


# ------------------------------------------------------------------------------------ README headline

Row = tuple[str, str]
"""One line of the README's headline table: what, and its median."""


def _median(s: Mapping[str, Any] | None) -> float:
    """A figure's median over runs; NaN when it was not measured (no runs, or absent)."""
    if not s or not s.get("runs"):
        return math.nan
    return _num(s.get("median"))


def _fmt(value: float, spec: str, unit: str = "") -> str:
    return "n/a" if math.isnan(value) else format(value, spec) + unit


def _pair(a: float, b: float, spec: str, unit: str) -> str:
    """'151 / 238 ms': two figures sharing a unit, the way the README writes p50 / p95."""
    return f"{_fmt(a, spec)} / {_fmt(b, spec)}{unit}"


def _span(values: Sequence[float], spec: str) -> str:
    """'76–84': the range of one figure over several renditions (one number when they agree)."""
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return "n/a"
    low, high = format(min(clean), spec), format(max(clean), spec)
    return low if low == high else f"{low}–{high}"


def _capacity(s: Mapping[str, Any], lower_bound: bool) -> str:
    """A capacity's median, '≥' when the load generator, not the server, ended the ramp."""
    value = _median(s)
    return ("≥ " if lower_bound and not math.isnan(value) else "") + _fmt(value, ",.0f")


def _first_playlist_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    return [("first keyframe sent → first playable LL-HLS playlist",
             _fmt(_median(f["median"]) * 1000, ".0f", " ms"))]


def _ingest_to_part_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    return [("RTMP message sent → its part fetchable (all messages, p50 / p95)",
             _pair(_median(f["msg_p50"]) * 1000, _median(f["msg_p95"]) * 1000, ".0f", " ms"))]


def _glass_to_glass_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    stalls = _median(f["stalls"])
    stall_text = ("stalls n/a" if math.isnan(stalls) else "no stalls" if stalls == 0
                  else f"{stalls:g} stalls")
    return [(f"glass-to-glass in hls.js, headless Chromium (p50 / p95, {r['seconds']:g} s, {stall_text})",
             _pair(_median(f["p50"]), _median(f["p95"]), ".2f", " s"))]


def _whip_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    return [("WHIP glass-to-glass: browser canvas → WebRTC → node → hls.js (p50 / p95)",
             _pair(_median(f["p50"]), _median(f["p95"]), ".2f", " s"))]


def _ladder_headline(r: dict[str, Any]) -> list[Row]:
    rows = []
    in_process = r.get("in_process", {})
    for label, f in in_process.get("figures", {}).items():
        rungs = "/".join(in_process["runs"][0][label]["ladder"]["rungs"])
        rows.append((f"ABR ladder, {label} source + {rungs} encoded: realtime factor, CPU at real time",
                     f"{_fmt(_median(f['realtime_factor']), '.1f', '×')},"
                     f" {_fmt(_median(f['cores_at_realtime']), '.2f', ' cores')}"))
    node = r.get("node", {}).get("figures", {})
    if node:
        rows.append((f"ladder streams one node sustains in real time ({' / '.join(node)} sources)",
                     " / ".join(_fmt(_median(nf["max_healthy_streams"]), ".0f") for nf in node.values())))
        extra = {q: [_median(v) * 1000 for nf in node.values() for k, v in nf.items()
                     if k.endswith(f"_extra_{q}")] for q in ("p50", "p95")}
        if extra["p50"]:
            rows.append(("extra latency of an encoded rendition over the passthrough (p50 / p95)",
                         f"{_span(extra['p50'], '.0f')} / {_span(extra['p95'], '.0f')} ms"))
    return rows


def _passthrough_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    source = r.get("source", "").split(" ")[0]  # "1280x720p30" of the harness's source label
    return [
        (f"passthrough streams one node process carries ({source} source, ladder off, recorded)",
         _fmt(_median(f["max_healthy_streams"]), ".0f")),
        (f"node CPU per passthrough stream (at {r['runs'][-1]['moderate_n']} streams)",
         _fmt(_median(f["cpu_per_stream_moderate"]), ".1f", "% of one core")),
    ]


def _edge_load_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    return [(f"LL-HLS viewers one edge core serves at p99 part delivery ≤ {edge_load.P99_LIMIT * 1000:.0f} ms"
             " (origin fetches per part there)",
             f"{_capacity(f['max_viewers'], f['max_viewers_lower_bound'])}"
             f" ({_fmt(_median(f['origin_fetches_per_part']), '.2f')})")]


def _chat_fanout_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    rows = [(f"chat fan-out, one room across two chat nodes at {r['rate']:g} messages/s: clients with"
             f" p99 ≤ {chat_fanout.P99_LIMIT * 1000:.0f} ms (p50 / p99 there)",
             f"{_capacity(f['max_clients'], f['max_clients_lower_bound'])}"
             f" ({_pair(_median(f['at_max_p50']) * 1000, _median(f['at_max_p99']) * 1000, '.0f', ' ms')})")]
    if "max_held" in f:
        rows.append((f"chat clients held by two chat nodes ({r['ping_interval']:g} s heartbeat answered"
                     f" for {r['hold']:g} s, nobody sending; node RSS per 1,000)",
                     f"{_capacity(f['max_held'], f['max_held_lower_bound'])}"
                     f" ({_fmt(_median(f['held_rss_mib_per_1000']), '.0f', ' MiB')})"))
    return rows


def _ffmpeg_like_tributary(r: dict[str, Any], label: str) -> str:
    """The ffmpeg side whose x264 threading matched Tributary's in that measurement (x264's own
    record of ``sliced_threads`` in the first segment). VOD encodes moved from sliced to frame
    threads, so which side is the like-for-like one depends on when the result was measured."""
    first = r["runs"][0][label]
    sliced = first["tributary"]["x264"].get("sliced_threads")
    for side in (vod_transcode.FFMPEG_SAME, vod_transcode.FFMPEG_DEFAULT):
        if sliced is not None and first[side]["x264"].get("sliced_threads") == sliced:
            return side
    return vod_transcode.FFMPEG_SAME


def _vod_transcode_headline(r: dict[str, Any]) -> list[Row]:
    rows = []
    for label, f in r.get("figures", {}).items():
        ladder = "/".join(rung.split()[0] for rung in r["ladders"][label])
        ratio = _median(f[f"ratio_{_ffmpeg_like_tributary(r, label)}"])
        rows.append((f"VOD transcode, {label} upload → {ladder}: × real time, time ÷ ffmpeg's"
                     " (same x264 threading)",
                     f"{_fmt(_median(f['tributary_realtime_factor']), '.2f', '×')}, {_fmt(ratio, '.2f')}"))
    return rows


def _catalog_api_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    tool = r["runs"][0]["rps_tool"] if r.get("runs") else "load"
    return [
        (f"catalog search on {r['videos']:,} videos (p50 / p95)",
         _pair(_median(f["search_p50"]) * 1000, _median(f["search_p95"]) * 1000, ".1f", " ms")),
        (f"`GET /api/v1/videos/{{id}}` on one process ({tool} client)",
         _fmt(_median(f["rps"]), ",.0f", " req/s")),
    ]


HEADLINES = {
    "first_playlist": _first_playlist_headline,
    "ingest_to_part": _ingest_to_part_headline,
    "glass_to_glass": _glass_to_glass_headline,
    "whip_glass_to_glass": _whip_headline,
    "ladder": _ladder_headline,
    "passthrough_capacity": _passthrough_headline,
    "edge_load": _edge_load_headline,
    "chat_fanout": _chat_fanout_headline,
    "vod_transcode": _vod_transcode_headline,
    "catalog_api": _catalog_api_headline,
}
"""The README's rows, in the README's order (the live path, chat, VOD, the API); vod_upload's
figures are in RESULTS.md only."""


def _headline_intro(stored: Mapping[str, Stored], names: Sequence[str]) -> str:
    """Where the figures came from, one sentence a line (Markdown joins them into a paragraph;
    wrapping would split "23.5 GiB" across lines of the README's source)."""
    measured = _measured(stored, names)
    if not measured:
        return "Nothing measured yet: `.venv/bin/python -m bench.run_all` fills this table."
    days = sorted({a.started.astimezone(dt.UTC).date().isoformat() for _, a in measured})
    when = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    commits = _unique(a.machine.commit for _, a in measured)
    on = f"commit `{commits[0]}`" if len(commits) == 1 else f"{len(commits)} commits"
    machines = " / ".join(_unique(f"{a.machine.cores} cores ({a.machine.cpu_model}),"
                                  f" {a.machine.memory_gib:.1f} GiB RAM" for _, a in measured))
    first = f"Measured {when} (UTC) on {on}, {machines}"
    sources = _sources(stored, names)
    if sources:
        first += f"; live source {'; '.join(sources)}, published over RTMP on loopback"
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
    results = {name: s.result for name in names if (s := stored.get(name)) and s.result}
    rows = [row for name, rows_of in HEADLINES.items() if name in results
            for row in rows_of(results[name])]
    return "\n".join([_headline_intro(stored, names), "", "| figure | median |", "| --- | --- |",
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


class IncompleteResults(RuntimeError):
    """Some benchmarks have nothing stored: rendering now would drop their figures."""

    def __init__(self, names: Sequence[str], directory: Path, *, everything: bool) -> None:
        self.names = list(names)
        command = "python -m bench.run_all" + ("" if everything else " --only " + " ".join(self.names))
        super().__init__(
            f"no stored result for {', '.join(self.names)} in {directory}: rewriting RESULTS.md and"
            f" the README now would drop their figures, so both were left as they are; measure them"
            f" first ({command})")


def write_reports(stored: Mapping[str, Stored], names: Sequence[str], *, directory: Path = RESULTS_DIR,
                  results_md: Path = RESULTS_MD, readme: Path = README) -> list[Path]:
    """Rewrite RESULTS.md and the README block from ``stored``; the files that changed.

    Everything is rendered and the README's markers checked before either file is written, so
    a refusal (:class:`IncompleteResults`, :class:`MarkerError`) leaves both as they were."""
    gaps = missing(stored, names)
    if gaps:
        raise IncompleteResults(gaps, directory, everything=len(gaps) == len(names))
    try:
        new_readme = replace_block(readme.read_bytes().decode("utf-8"), render_headline(stored, names))
    except MarkerError as e:
        raise MarkerError(f"{readme}: {e}") from None
    updates = [(results_md, render_results(stored, names)), (readme, new_readme)]
    written = []
    for path, text in updates:
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            written.append(path)
    return written
