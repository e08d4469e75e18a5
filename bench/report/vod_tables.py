"""RESULTS.md's rows and per-run sections for the VOD benchmarks: transcoding beside ffmpeg
(bench/vod_transcode.py) and uploading through tus beside plain copies (bench/vod_upload.py)."""

from __future__ import annotations

from typing import Any

from bench import harness as h
from bench import vod_transcode, vod_upload
from bench.report.formatting import heading, run_conditions, table_rows


def vod_transcode_rows(vt: dict[str, Any]) -> list[str]:
    """× real time of each side, and the ratios of Tributary's time to each ffmpeg's."""
    lines = []
    for label, f in vt.get("figures", {}).items():
        ladder = "+".join(rung.split()[0] for rung in vt["ladders"][label])
        lines += table_rows(f"VOD transcode, {label} source → {ladder} + audio + pictures (default transcode"
                            " settings)", [
            ("Tributary (`transcode_video`, end to end), × real time",
             h.fmt_spread(f["tributary_realtime_factor"], "×", digits=2)),
            ("ffmpeg, same x264 settings (sliced threads), × real time",
             h.fmt_spread(f["ffmpeg_same_realtime_factor"], "×", digits=2)),
            ("Tributary time ÷ ffmpeg time, same settings", h.fmt_spread(f["ratio_ffmpeg_same"], digits=2)),
            ("ffmpeg, default threading (frame threads), × real time",
             h.fmt_spread(f["ffmpeg_default_realtime_factor"], "×", digits=2)),
            ("Tributary time ÷ ffmpeg time, default threading",
             h.fmt_spread(f["ratio_ffmpeg_default"], digits=2)),
            ("CPU, Tributary / ffmpeg same / ffmpeg default",
             f"{h.fmt_spread(f['tributary_cpu_s'], ' s', digits=1)} /"
             f" {h.fmt_spread(f['ffmpeg_same_cpu_s'], ' s', digits=1)} /"
             f" {h.fmt_spread(f['ffmpeg_default_cpu_s'], ' s', digits=1)}"),
        ])
    return lines


def _x264_threading(vt: dict[str, Any], label: str) -> str:
    """How each side's x264 threaded (x264's own record in the first segment), and any other x264
    option Tributary and the same-settings ffmpeg did not share: what "same settings" held to."""
    x264 = {side: vt["runs"][0][label][side]["x264"] for side in vod_transcode.SIDES}
    differing = vod_transcode.differing(x264["tributary"], x264[vod_transcode.FFMPEG_SAME])
    return (f"- x264 threading, {label}: " + "; ".join(
        f"{vod_transcode.SIDE_LABELS[side]}: {vod_transcode.thread_options(x264[side])}"
        for side in vod_transcode.SIDES) + ". Other x264 options differing, Tributary vs ffmpeg"
        " same settings: " + (", ".join(f"{k} {a} vs {b}" for k, (a, b) in differing.items()) or "none"))


def vod_transcode_section(vt: dict[str, Any]) -> list[str]:
    if "runs" not in vt:
        return []
    lines = [
        *heading(f"VOD transcode, per run ({len(vt['runs'])} runs)"),
        f"{run_conditions(vt)} (it still counts the encoders of the run before). Sides run in a"
        " rotating order. *Others* is CPU that processes other than the benchmark and what it started"
        " took meanwhile (the machine is shared). Peak threads:"
        " the most threads the transcoding process had (Tributary's child, ffmpeg).",
        "",
    ]
    lines += [f"- {label}: {source}; ladder {', '.join(vt['ladders'][label])}"
              for label, source in vt["sources"].items()]
    lines += [_x264_threading(vt, label) for label in vt["sources"]]
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
    command = vt["runs"][0][label][vod_transcode.FFMPEG_SAME]["command"]
    lines += [
        "",
        f"Tributary's pictures step (poster, thumbnails, storyboard; the ffmpeg runs make the same"
        f" pictures): {steps}. The {label} ffmpeg command, same settings (OUT: the run's output"
        " directory):",
        "",
        "```",
        command,
        "```",
    ]
    return lines


def vod_upload_rows(vu: dict[str, Any]) -> list[str]:
    """MB/s through tus to each target and the ratios to the plain copies measured beside it."""
    if "figures" not in vu:
        return []
    f = vu["figures"]
    rows = []
    for target in vu["targets"]:
        where = "local disk" if target == "local" else "S3 (moto on loopback)"
        rows.append((f"tus → {where}, MB/s", h.fmt_spread(f[f"{target}_mb_s"], " MB/s")))
        rows += [(f"… ÷ {vod_upload.LABELS[base]} (median {f[f'{base}_mb_s']['median']:.0f} MB/s)",
                  h.fmt_spread(f[f"{target}_ratio_{base}"], digits=2))
                 for base in vod_upload.BASELINES[target]]
    return table_rows(f"VOD upload, {vu['mib']} MiB (tuspy, {vu['chunk_mib']} MiB PATCHes → one node; first"
                      " byte → `processing`)", rows)


def _tus_cells(r: dict[str, Any], target: str) -> list[str]:
    """One run's tus upload to ``target``: MB/s, receive and hand-over, CPU (blank if not run)."""
    t = r.get(f"{target}_tus")
    if t is None:
        return ["", "", ""]
    cpu = f"{t['node_cpu_s']:.1f} / {t['client_cpu_s']:.1f}"
    cpu += f" / {t['moto_cpu_s']:.1f} s" if "moto_cpu_s" in t else " s"
    return [f"{t['mb_s']:.0f} MB/s", f"{t['receive_mb_s']:.0f} MB/s, {t['hand_over_s']:.2f} s", cpu]


def vod_upload_section(vu: dict[str, Any]) -> list[str]:
    if "runs" not in vu:
        return []
    lines = [
        *heading(f"VOD upload, per run ({vu['mib']} MiB of random bytes, MB/s = 10^6 bytes/s)"),
        f"{run_conditions(vu)}. *Receive*: first PATCH sent → last PATCH answered (every byte"
        " fsynced, its offset committed); *hand-over*: last PATCH answered → video `processing` (the"
        " staged file copied into storage). CPU in seconds over the upload: node process / tus client"
        " (this process) / moto.",
        "",
        "| run | copy | copy + fsync | tus → local | receive, hand-over | CPU | tus → S3 |"
        " receive, hand-over | CPU | aioboto3 upload_file | aioboto3 part by part |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, r in enumerate(vu["runs"], 1):
        s3 = [f"{r[n]['mb_s']:.0f} MB/s" if n in r else ""
              for n in ("aioboto3_managed", "aioboto3_sequential")]
        cells = [str(i), f"{r['copy']['mb_s']:.0f} MB/s", f"{r['copy_fsync']['mb_s']:.0f} MB/s",
                 *_tus_cells(r, "local"), *_tus_cells(r, "s3"), *s3]
        lines.append("| " + " | ".join(cells) + " |")
    return lines
