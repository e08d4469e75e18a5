"""The README's headline rows: a few figures per benchmark, medians only.

RESULTS.md has every figure with its range over runs; the README's table is the summary, so each
benchmark here picks its headline figures and writes them short ("151 / 238 ms").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bench import chat_fanout, edge_load, vod_transcode
from bench.report.formatting import Row, number


def _median(s: Mapping[str, Any] | None) -> float:
    """A figure's median over runs; NaN when it was not measured (no runs, or absent)."""
    if not s or not s.get("runs"):
        return math.nan
    return number(s.get("median"))


def _fmt(value: float, spec: str, unit: str = "") -> str:
    return "n/a" if math.isnan(value) else format(value, spec) + unit


def _pair(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, spec: str, unit: str,
          scale: float = 1.0) -> str:
    """'151 / 238 ms': the medians of two figures sharing a unit, the way the README writes
    p50 / p95 (``scale`` 1000 turns seconds into milliseconds)."""
    return f"{_fmt(_median(a) * scale, spec)} / {_fmt(_median(b) * scale, spec)}{unit}"


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
             _pair(f["msg_p50"], f["msg_p95"], ".0f", " ms", 1000))]


def _glass_to_glass_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    stalls = _median(f["stalls"])
    stall_text = ("stalls n/a" if math.isnan(stalls) else "no stalls" if stalls == 0
                  else f"{stalls:g} stalls")
    return [(f"glass-to-glass in hls.js, headless Chromium (p50 / p95, {r['seconds']:g} s, {stall_text})",
             _pair(f["p50"], f["p95"], ".2f", " s"))]


def _whip_headline(r: dict[str, Any]) -> list[Row]:
    f = r["figures"]
    return [("WHIP glass-to-glass: browser canvas → WebRTC → node → hls.js (p50 / p95)",
             _pair(f["p50"], f["p95"], ".2f", " s"))]


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
             f" ({_pair(f['at_max_p50'], f['at_max_p99'], '.0f', ' ms', 1000)})")]
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
         _pair(f["search_p50"], f["search_p95"], ".1f", " ms", 1000)),
        (f"`GET /api/v1/videos/{{id}}` on one process ({tool} client)",
         _fmt(_median(f["rps"]), ",.0f", " req/s")),
    ]


HEADLINES: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
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
