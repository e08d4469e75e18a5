"""VOD transcode speed: Tributary's upload transcode against the ffmpeg command line, same ladder.

Two sources, made once by ffmpeg and cached next to the live benchmarks' source: 1280x720p30 and
1920x1080p30, H.264 High (2 s GOP, 5 / 8 Mb/s: the usual export settings for uploads) + AAC-LC
48 kHz stereo 160 kb/s in a fast-start MP4, 21 s by default. A flat test pattern would flatter
every encoder (x264 skips static blocks for almost nothing) and no real footage is at hand
(this machine reaches package registries only), so the picture is three generated scenes with
hard cuts between them:

1. *landscape*: a camera panning and zooming over a static multi-scale texture (large blobs of
   muted colour, medium and fine luma detail, like foliage seen from above) with sensor grain:
   global motion and detail at every scale, which motion search and rate control have to work for;
2. *close-up*: a finer, browner texture slowly turning and drifting (hand-held camera) under
   grain: rotation, which block motion compensation handles badly;
3. *screen*: ``testsrc2`` (moving objects, text, sharp edges, flat colour) with light grain.

The sound is pink noise under a 220 Hz tone (AAC's cost barely depends on content). Fractals
(``mandelbrot``) were tried and dropped: 2.4 frames/s to render at 1080p.

Per run and source (all at the default ``TranscodeSettings()``, what a real upload gets):

* **Tributary**: ``vod.transcode.pipeline.transcode_video`` end to end on a real catalog
  (PostgreSQL: embedded, or ``DATABASE_URL``) and local storage, exactly as a worker calls it:
  the source is in storage at the upload's key and the video ``processing``; timed from the call
  to its return (copy of the source to scratch space, the niced child process: probe, decode,
  every rendition, audio, poster, thumbnails, storyboard; each file stored as it is announced;
  playlists, catalog transaction, playback manifest). CPU: the child's (``RUSAGE_CHILDREN``) and
  this process's (the parent's side: storing, catalog, progress).
* **ffmpeg, same encoder settings**: Debian's ``ffmpeg`` in ONE process producing the same
  ladder: rungs, x264 preset, B-frames, bitrates, maxrate, bufsize, GOP and ``keyint_min``,
  scene-cut off, keyframes forced every segment duration (``-force_key_frames``, ``-forced-idr``)
  all read from ``vod.transcode.plan.plan_transcode`` for that source; bilinear scaling in one
  filter thread (Tributary scales with PyAV's default, bilinear, ``threads=1``); the same AAC
  rate, channels and ``aresample=async=1``; HLS fMP4 segments of the same duration with an audio
  group (``-f hls -hls_segment_type fmp4``, ``var_stream_map``); and the poster, thumbnails and
  storyboard sheets at the plan's times and sizes from the same decode (``select``, ``tile``,
  MJPEG at the same quantiser), as further outputs of the same process. Neither side sets an
  H.264 profile: x264 picks High for both (``avc1.64…``). x264's threading is
  Tributary's too: PyAV opens codecs with ``thread_type=SLICE``, which libavcodec's libx264
  wrapper turns into x264's *sliced* threads, so this variant passes ``-thread_type slice``.
* **ffmpeg, default threading**: the same command without ``-thread_type slice`` (x264's frame
  threads, what the command line does unless told otherwise), to show what the threading
  mode costs.

Both sides run at the transcode's niceness (``TranscodeSettings.nice`` over this process: the
child renices itself, ffmpeg runs under ``nice``) and with thread counts left to their
libraries (x264 ``threads`` auto; decoders auto). What each actually ran is printed from the
x264 options string in its first segment (SEI), with the options that differ, and the most
threads each process had (sampled). Other differences: x264 core 165 (PyAV's wheel, FFmpeg 8)
against Debian's core 164 (FFmpeg 5.1); Tributary copies the source to scratch space and stores
every output through its storage layer, ffmpeg writes files; ffmpeg's last storyboard sheet is a
full grid (the unused tiles black), Tributary's is cut to the rows it uses.

*Pictures step*: the CPU Tributary spends on the poster, thumbnails and storyboard, timed in this
process around ``vod.transcode.pictures.Pictures`` calls while decoding the source the way the
child does (wall time of the calls only, decode excluded): the ffmpeg side includes the same
outputs, so the comparison is like for like; this says how much of it they are.

    .venv/bin/python -m bench.vod_transcode [--runs 3] [--sources 720p30,1080p30] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import math
import os
import re
import resource
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import psutil

from bench import harness as h
from bench.ladder import wait_quiet
from bench.vod_files import cached_file
from catalog.db import open_pool
from catalog.recordings import Recordings
from catalog.videos import Status, Videos
from packager.live.names import segment_name
from tributary.logs import configure_logging
from tributary.settings import TranscodeSettings
from vod.recording.thumbnail import JPEG_QSCALE, MAX_WIDTH
from vod.storage.local import LocalStorage
from vod.transcode.decode import decoded_frames
from vod.transcode.pictures import POSTER_NAME, Pictures, thumbnail_name
from vod.transcode.pipeline import TranscodeDeps, output_prefix, transcode_video
from vod.transcode.plan import TranscodePlan, plan_transcode
from vod.transcode.probe import NotPlayable, SourceInfo, probe
from vod.uploads import source_key

FFMPEG_SAME = "ffmpeg_same"
FFMPEG_DEFAULT = "ffmpeg_default"
SIDES = ("tributary", FFMPEG_SAME, FFMPEG_DEFAULT)
SIDE_LABELS = {
    "tributary": "Tributary",
    FFMPEG_SAME: "ffmpeg, same x264 settings (sliced threads)",
    FFMPEG_DEFAULT: "ffmpeg, default threading (frame threads)",
}
THREAD_OPTIONS = ("threads", "lookahead_threads", "sliced_threads", "slices")


# ------------------------------------------------------------------------------------ sources


@dataclass(frozen=True)
class VodSource:
    """An upload as a creator's editor exports it (see the module docstring for the content)."""

    width: int
    height: int
    video_kbps: int
    fps: int = 30
    seconds: int = 21
    audio_kbps: int = 160

    @property
    def label(self) -> str:
        return (f"{self.width}x{self.height}p{self.fps} H.264 High {self.video_kbps} kb/s GOP 2 s + AAC"
                f" 48 kHz {self.audio_kbps} kb/s, {self.seconds} s, MP4 (pan over texture | rotating"
                " close-up | testsrc2, grain throughout)")


SOURCES: dict[str, VodSource] = {
    "720p30": VodSource(1280, 720, video_kbps=5000),
    "1080p30": VodSource(1920, 1080, video_kbps=8000),
}


def content_filter(spec: VodSource) -> str:
    """The three scenes, concatenated, as one lavfi filter graph ending in ``[v]``."""
    w, h, r = spec.width, spec.height, spec.fps
    d = spec.seconds / 3
    tw, th = w * 3 // 2, h * 3 // 2  # the landscape texture: room to pan and zoom

    def noise_layer(colour: str, size: tuple[int, int], noise: str, to: tuple[int, int], out: str) -> str:
        return (f"color=c={colour}:s={size[0]}x{size[1]}:r={r}:d={d},noise={noise},"
                f"scale={to[0]}x{to[1]}:flags=bicubic,format=yuv420p,setsar=1[{out}]")

    landscape = ";".join([
        noise_layer("0x6a7a58", (tw // 40, th // 40), "c0s=70:c1s=14:c2s=14", (tw, th), "big"),
        noise_layer("gray", (tw // 6, th // 6), "c0s=45", (tw, th), "mid"),
        f"color=c=gray:s={tw}x{th}:r={r}:d={d},noise=c0s=35[fine]",
        "[big][mid]blend=c0_mode=overlay:c1_mode=normal:c2_mode=normal[bm]",
        "[bm][fine]blend=c0_mode=softlight:c1_mode=normal:c2_mode=normal,"
        f"scale=w='trunc({w}*(1.05+0.3*t/{d})/2)*2':h=-2:eval=frame,"
        f"crop=w={w}:h={h}:x='(in_w-out_w)*t/{d}':y='(in_h-out_h)*(0.5+0.4*sin(t))',"
        "noise=alls=6:allf=t+u,setsar=1[landscape]",
    ])
    close_up = ";".join([
        noise_layer("0x705840", (w // 10, h // 10), "c0s=60:c1s=25:c2s=25", (w * 2, h * 2), "cb"),
        f"color=c=gray:s={w * 2}x{h * 2}:r={r}:d={d},noise=c0s=40[cf]",
        "[cb][cf]blend=c0_mode=softlight:c1_mode=normal:c2_mode=normal,"
        f"rotate=a='0.04*t':ow={tw}:oh={th},"
        f"crop=w={w}:h={h}:x='(in_w-out_w)/2+40*sin(1.3*t)':y='(in_h-out_h)/2+25*sin(0.9*t)',"
        "noise=alls=8:allf=t+u,setsar=1[closeup]",
    ])
    screen = f"testsrc2=s={w}x{h}:r={r}:d={d},noise=alls=6:allf=t+u,setsar=1[screen]"
    return (f"{landscape};{close_up};{screen};"
            "[landscape][closeup][screen]concat=n=3:v=1:a=0,format=yuv420p[v]")


def ensure_vod_source(spec: VodSource) -> Path:
    def make(path: Path) -> None:
        print(f"making the source once: {spec.label} -> {path}", flush=True)
        audio = (f"anoisesrc=c=pink:a=0.08:r=48000:d={spec.seconds}[noise];"
                 f"sine=f=220:r=48000:d={spec.seconds}[tone];"
                 "[noise][tone]amix=inputs=2,aformat=channel_layouts=stereo[a]")
        kbps = spec.video_kbps
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
             "-filter_complex", f"{content_filter(spec)};{audio}", "-map", "[v]", "-map", "[a]",
             "-c:v", "libx264", "-preset", "fast", "-profile:v", "high", "-pix_fmt", "yuv420p",
             "-b:v", f"{kbps}k", "-maxrate", f"{kbps * 6 // 5}k", "-bufsize", f"{kbps * 2}k",
             "-g", str(2 * spec.fps), "-c:a", "aac", "-b:a", f"{spec.audio_kbps}k",
             "-movflags", "+faststart", "-t", str(spec.seconds), "-f", "mp4", str(path)],
            check=True, timeout=900)

    name = (f"vod-{spec.width}x{spec.height}p{spec.fps}-{spec.seconds}s-{spec.video_kbps}k-"
            f"{spec.audio_kbps}k-scenes1.mp4")
    return cached_file(name, make)


# ------------------------------------------------------------------------------------ measuring


def _rusage() -> tuple[float, float]:
    """CPU seconds (user+system) of this process and of its waited-for children."""
    me, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


async def _peak_threads(find: Callable[[], psutil.Process | None], stop: asyncio.Event) -> int:
    """The most threads the process ``find()`` returns had, sampled every 0.2 s until ``stop``."""
    peak = 0
    while not stop.is_set():
        proc = find()
        if proc is not None:
            try:
                peak = max(peak, proc.num_threads())
            except psutil.Error:
                pass
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except TimeoutError:
            pass
    return peak


async def measured(work: Callable[[], Any], find: Callable[[], psutil.Process | None],
                   media_s: float) -> dict[str, Any]:
    """Run ``await work()``; its wall time, CPU (this process and children), peak threads of
    ``find()``, and what other processes took from the machine meanwhile."""
    stop = asyncio.Event()
    threads = asyncio.ensure_future(_peak_threads(find, stop))
    (me0, kids0), busy0, t0 = _rusage(), h.machine_busy_seconds(), time.monotonic()
    try:
        await work()
    finally:
        t1, busy1, (me1, kids1) = time.monotonic(), h.machine_busy_seconds(), _rusage()
        stop.set()
    wall, parent, child = t1 - t0, me1 - me0, kids1 - kids0
    return {
        "wall_s": wall, "media_s": media_s, "realtime_factor": media_s / wall,
        "cpu_s": parent + child, "child_cpu_s": child, "parent_cpu_s": parent,
        "cores_busy": (parent + child) / wall, "peak_threads": await threads,
        "others_cpu_pct": 100 * max(0.0, (busy1 - busy0) - parent - child) / wall,
    }


# ------------------------------------------------------------------------------------ x264 options

_X264_SEI = re.compile(rb"x264 - core (\d+)[^\x00]*? - options: ([^\x00]*)")


def x264_options(segment: bytes) -> dict[str, str]:
    """x264's own record of how it encoded (the SEI it puts in the first keyframe)."""
    match = _X264_SEI.search(segment)
    if match is None:
        return {}
    options = dict(item.split("=", 1) for item in match[2].decode().split() if "=" in item)
    return {"core": match[1].decode(), **options}


def differing(a: dict[str, str], b: dict[str, str]) -> dict[str, tuple[str | None, str | None]]:
    return {k: (a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}


# ------------------------------------------------------------------------------------ Tributary


class Catalog:
    """The catalog and local storage a worker would use; videos go to the operator channel."""

    def __init__(self, pool: Any, root: Path) -> None:
        self.pool = pool
        self.storage = LocalStorage(root)
        self.videos = Videos(pool)

    async def upload(self, source: Path) -> tuple[int, str, str]:
        """A video as the upload hand-over leaves it: file stored, status ``processing``."""
        channel = await Recordings(self.pool).operator_channel()
        video = await self.videos.create(channel, "vod transcode bench")
        raw_key = source_key(video.public_id)
        await self.storage.put_file(raw_key, source)
        await self.videos.set_status(video.id, Status.PROCESSING)
        return video.id, video.public_id, raw_key

    async def outputs(self, public_id: str) -> dict[str, int]:
        """Bytes per rendition (and ``top level``: pictures, playlists) under the video's prefix."""
        prefix = output_prefix(public_id) + "/"
        sizes: dict[str, int] = {}
        for info in await self.storage.list(prefix):
            name = info.key[len(prefix):]
            group = name.split("/", 1)[0] if "/" in name else "top level"
            sizes[group] = sizes.get(group, 0) + info.size
        return sizes


def _transcode_child() -> psutil.Process | None:
    for proc in psutil.Process().children():
        try:
            if "vod.transcode.child" in " ".join(proc.cmdline()):
                return proc
        except psutil.Error:
            continue
    return None


async def tributary_run(catalog: Catalog, deps: TranscodeDeps, source: Path, info: SourceInfo,
                        plan: TranscodePlan) -> dict[str, Any]:
    """One upload's transcode, as a worker runs it; its outputs are checked, then removed."""
    video_id, public_id, raw_key = await catalog.upload(source)
    result = await measured(lambda: transcode_video(deps, public_id, raw_key), _transcode_child,
                            info.duration)
    video = await catalog.videos.get(public_id)
    assert video is not None
    if video.status is not Status.READY:
        raise RuntimeError(f"the transcode ended {video.status}: {video.failure_reason}")
    top = plan.renditions[0].name
    segment = await catalog.storage.get(f"{output_prefix(public_id)}/{top}/{segment_name(0)}")
    result["bytes"] = await catalog.outputs(public_id)
    result["x264"] = x264_options(segment)
    # Outputs, upload and row go: 3 runs of 1080p would otherwise keep ~100 MB per run.
    for stored in await catalog.storage.list(output_prefix(public_id) + "/"):
        await catalog.storage.delete(stored.key)
    await catalog.storage.delete(raw_key)
    await catalog.videos.delete(video_id)
    return result


def pictures_step(source: Path, info: SourceInfo, plan: TranscodePlan, out: Path) -> dict[str, float]:
    """Wall time inside ``Pictures`` calls for one pass over the source (decode not counted)."""
    pictures = Pictures(plan, out, lambda _path: None)
    spent = 0.0
    for decoded in decoded_frames(source, info):
        if not isinstance(decoded.frame, av.VideoFrame):
            continue
        t0 = time.perf_counter()
        pictures.offer(decoded.frame, decoded.seconds)
        spent += time.perf_counter() - t0
    t0 = time.perf_counter()
    pictures.finish()
    spent += time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    return {"wall_s": spent, "files": len(pictures.pictures)}


# ------------------------------------------------------------------------------------ ffmpeg


def ffmpeg_command(source: Path, plan: TranscodePlan, out: Path, *, nice: int,
                   sliced_threads: bool) -> list[str]:
    """One ffmpeg process making what ``transcode_video`` makes of ``source`` (module docstring)."""
    renditions = plan.renditions
    pictures = [(POSTER_NAME, plan.poster_time)] + [
        (thumbnail_name(i + 1), t) for i, t in enumerate(plan.thumbnail_times)]
    branches = len(renditions) + len(pictures) + 1
    board = plan.storyboard
    graph = ["[0:v]split=" + str(branches) + "".join(f"[s{i}]" for i in range(branches))]
    graph += [f"[s{i}]scale={r.rung.width}:{r.rung.height}:flags=bilinear[v{i}]"
              for i, r in enumerate(renditions)]
    # A picture is the first frame at or after its time (vod.transcode.pictures), at most
    # MAX_WIDTH wide (vod.recording.thumbnail). Commas in expressions are escaped with a
    # backslash rather than quoted, so the printed command stays readable.
    graph += [f"[s{len(renditions) + j}]select=isnan(prev_selected_t)*gte(t\\,{t:.6f}),"
              f"scale=min(iw\\,{MAX_WIDTH}):-2:flags=bilinear[p{j}]" for j, (_, t) in enumerate(pictures)]
    graph.append(f"[s{branches - 1}]select=gte(t\\,selected_n*{board.interval}),"
                 f"scale={board.tile_width}:{board.tile_height}:flags=bilinear,"
                 f"tile={board.columns}x{board.rows}[board]")
    cmd = ["nice", "-n", str(nice), "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
           "-i", str(source), "-filter_complex_threads", "1"]
    maps: list[str] = [arg for i in range(len(renditions)) for arg in ("-map", f"[v{i}]")]
    streams = [f"v:{i},agroup:audio" for i in range(len(renditions))]
    if plan.audio is not None:
        graph.append("[0:a]aresample=async=1[a]")
        maps += ["-map", "[a]", "-c:a", "aac", "-b:a", str(plan.audio.bitrate),
                 "-ar", str(plan.audio.sample_rate), "-ac", str(plan.audio.channels)]
        streams.append("a:0,agroup:audio")
    cmd += ["-filter_complex", ";".join(graph), *maps,
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", plan.preset, "-bf", str(plan.b_frames),
            "-g", str(plan.gop), "-keyint_min", str(plan.gop), "-sc_threshold", "0", "-forced-idr", "1",
            "-force_key_frames", f"expr:gte(t,n_forced*{plan.segment_duration:g})"]
    if sliced_threads:
        cmd += ["-thread_type", "slice"]
    for i, r in enumerate(renditions):
        cmd += [f"-b:v:{i}", str(r.rung.bitrate), f"-maxrate:v:{i}", str(r.rung.maxrate),
                f"-bufsize:v:{i}", str(r.rung.bufsize)]
    cmd += ["-f", "hls", "-hls_time", f"{plan.segment_duration:g}", "-hls_playlist_type", "vod",
            "-hls_segment_type", "fmp4", "-hls_segment_filename", str(out / "%v" / "seg%d.m4s"),
            "-master_pl_name", "master.m3u8", "-var_stream_map", " ".join(streams),
            str(out / "%v" / "index.m3u8")]
    for j, (name, _) in enumerate(pictures):
        cmd += ["-map", f"[p{j}]", "-frames:v", "1", "-q:v", str(JPEG_QSCALE), "-update", "1",
                str(out / name)]
    cmd += ["-map", "[board]", "-q:v", str(JPEG_QSCALE), str(out / "storyboard%d.jpg")]
    return cmd


async def ffmpeg_run(source: Path, info: SourceInfo, plan: TranscodePlan, out: Path, *, nice: int,
                     sliced_threads: bool) -> dict[str, Any]:
    out.mkdir(parents=True)
    cmd = ffmpeg_command(source, plan, out, nice=nice, sliced_threads=sliced_threads)
    proc: asyncio.subprocess.Process | None = None
    ps: psutil.Process | None = None
    errors = b""

    async def work() -> None:
        nonlocal proc, ps, errors
        proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)
        ps = psutil.Process(proc.pid)  # `nice` execs ffmpeg: the same process
        try:
            _, errors = await proc.communicate()
        finally:
            if proc.returncode is None:  # cancelled (Ctrl-C, SIGTERM): stop it, then go on
                proc.kill()
                await proc.wait()

    result = await measured(work, lambda: ps, info.duration)
    assert proc is not None
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg exited {proc.returncode}: {errors.decode(errors='replace')[-800:]}")
    names = [r.name for r in plan.renditions] + (["audio"] if plan.audio else [])  # var_stream_map's
    sizes: dict[str, int] = {}
    for path in out.rglob("*"):
        if path.is_file():
            parts = path.relative_to(out).parts
            group = names[int(parts[0])] if len(parts) > 1 else "top level"
            sizes[group] = sizes.get(group, 0) + path.stat().st_size
    result["bytes"] = sizes
    result["x264"] = x264_options((out / "0" / segment_name(0)).read_bytes())
    pictures = sorted(p.name for p in out.glob("*.jpg"))
    sheets = math.ceil(plan.storyboard.tiles / plan.storyboard.per_sheet)
    if len(pictures) != 1 + len(plan.thumbnail_times) + sheets:  # what Tributary makes
        raise RuntimeError(f"ffmpeg made the pictures {pictures}, not the plan's")
    result["stderr"] = errors.decode(errors="replace").strip()[-400:]
    result["command"] = shlex.join(cmd).replace(str(out), "OUT")
    shutil.rmtree(out, ignore_errors=True)
    return result


# ------------------------------------------------------------------------------------ main


def top_kbps(r: dict[str, Any], top: str) -> float:
    """The top rendition's bit rate: both sides should land on the rung's target."""
    return r["bytes"][top] * 8 / r["media_s"] / 1000


def _line(name: str, r: dict[str, Any], top: str) -> str:
    return (f"    {SIDE_LABELS[name]:<44} {r['wall_s']:6.2f} s = {r['realtime_factor']:5.2f}× real time;"
            f" CPU {r['cpu_s']:5.1f} s ({r['cores_busy']:.2f} cores busy; child {r['child_cpu_s']:.1f} s,"
            f" this process {r['parent_cpu_s']:.1f} s); peak {r['peak_threads']} threads;"
            f" {top} {top_kbps(r, top):.0f} kb/s; others {r['others_cpu_pct']:.0f}% of a core")


def thread_options(x264: dict[str, str]) -> str:
    """x264's threading options as it recorded them."""
    return ", ".join(f"{k}={x264.get(k, '-')}" for k in THREAD_OPTIONS)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated: 720p30,1080p30")
    parser.add_argument("--seconds", type=int, default=VodSource.seconds,
                        help="source length, seconds (three scenes of equal length)")
    parser.add_argument("--quiet-wait", type=float, default=20.0,
                        help="max seconds to wait for a busy machine before each measurement")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    labels = [s for s in args.sources.split(",") if s]
    configure_logging("WARNING", "console")  # the transcode's own log lines: warnings only
    m = h.machine()
    h.print_header("VOD transcode: Tributary vs the ffmpeg command line", m)
    settings = TranscodeSettings()
    load = os.getloadavg()
    print(f"transcode settings (defaults): heights {settings.heights}, x264 preset {settings.preset},"
          f" {settings.b_frames} B-frames, {settings.segment_duration:g} s segments, AAC"
          f" {settings.audio_bitrate // 1000} kb/s, nice +{settings.nice}; load average before:"
          f" {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sources: dict[str, tuple[VodSource, Path, SourceInfo, TranscodePlan]] = {}
    for label in labels:
        spec = dataclasses.replace(SOURCES[label], seconds=args.seconds)
        path = ensure_vod_source(spec)
        info = probe(path)
        if isinstance(info, NotPlayable):
            raise RuntimeError(f"{path}: {info.reason}")
        plan = plan_transcode(info, settings)
        sources[label] = (spec, path, info, plan)
        print(f"source {label}: {spec.label}; ladder "
              + ", ".join(f"{r.name} {r.rung.width}x{r.rung.height} {r.rung.bitrate / 1000:.0f} kb/s"
                          f" (max {r.rung.maxrate / 1000:.0f}, buffer {r.rung.bufsize / 1000:.0f})"
                          for r in plan.renditions)
              + f"; GOP {plan.gop}; poster + {len(plan.thumbnail_times)} thumbnails + storyboard"
              f" {plan.storyboard.tiles} tiles of {plan.storyboard.tile_width}x{plan.storyboard.tile_height}",
              flush=True)

    runs: list[dict[str, Any]] = []
    async with h.BenchEnv("vod-transcode") as env:
        assert env.services is not None
        pool = await open_pool(env.services.database_url, min_size=1, max_size=4)  # migrates
        try:
            catalog = Catalog(pool, env.tmp / "storage")
            deps = TranscodeDeps(storage=catalog.storage, pool=pool, settings=settings,
                                 work_dir=env.tmp / "transcode")
            for run in range(args.runs):
                entry: dict[str, Any] = {"load_average_before": os.getloadavg()}
                print(f"run {run + 1}/{args.runs} (load average {entry['load_average_before'][0]:.2f})",
                      flush=True)
                for label, (spec, path, info, plan) in sources.items():
                    order = SIDES[run % len(SIDES):] + SIDES[:run % len(SIDES)]  # rotate who goes first
                    results: dict[str, Any] = {}
                    for side in order:
                        await asyncio.to_thread(wait_quiet, args.quiet_wait, f"{label} {side}")
                        if side == "tributary":
                            results[side] = await tributary_run(catalog, deps, path, info, plan)
                        else:
                            results[side] = await ffmpeg_run(
                                path, info, plan, env.tmp / f"ffmpeg-{label}-{run}-{side}",
                                nice=settings.nice, sliced_threads=side == FFMPEG_SAME)
                    results["pictures_step"] = await asyncio.to_thread(
                        pictures_step, path, info, plan, env.tmp / "pictures")
                    for other in (FFMPEG_SAME, FFMPEG_DEFAULT):
                        results[f"ratio_{other}"] = results["tributary"]["wall_s"] / results[other]["wall_s"]
                    entry[label] = results
                    print(f"  {label} ({info.duration:.1f} s of media; sides in the order run):")
                    for side in order:
                        print(_line(side, results[side], plan.renditions[0].name))
                    if run == 0:
                        print(f"    ffmpeg command (same settings): {results[FFMPEG_SAME]['command']}")
                    print(f"    Tributary / ffmpeg wall time: {results[f'ratio_{FFMPEG_SAME}']:.2f} (same"
                          f" settings), {results[f'ratio_{FFMPEG_DEFAULT}']:.2f} (default threading);"
                          f" Tributary's pictures step {results['pictures_step']['wall_s']:.2f} s", flush=True)
                runs.append(entry)
        finally:
            await pool.close()

    figures: dict[str, Any] = {}
    print()
    print(h.machine().line())
    for label in labels:
        per = [r[label] for r in runs]
        f: dict[str, Any] = {}
        for side in SIDES:
            for key in ("wall_s", "realtime_factor", "cpu_s", "cores_busy"):
                f[f"{side}_{key}"] = h.spread([r[side][key] for r in per])
        for other in (FFMPEG_SAME, FFMPEG_DEFAULT):
            f[f"ratio_{other}"] = h.spread([r[f"ratio_{other}"] for r in per])
        f["pictures_step_s"] = h.spread([r["pictures_step"]["wall_s"] for r in per])
        figures[label] = f
        first = per[0]
        print(f"{label} ({'+'.join(r.name for r in sources[label][3].renditions)} + audio + pictures):")
        for side in SIDES:
            print(f"  {SIDE_LABELS[side]:<44} {h.fmt_spread(f[f'{side}_realtime_factor'], '×', digits=2)}"
                  f" real time; CPU {h.fmt_spread(f[f'{side}_cpu_s'], ' s', digits=1)}"
                  f" ({h.fmt_spread(f[f'{side}_cores_busy'], ' cores', digits=2)} busy)")
        print(f"  Tributary time / ffmpeg time: {h.fmt_spread(f[f'ratio_{FFMPEG_SAME}'], digits=2)}"
              f" against the same settings, {h.fmt_spread(f[f'ratio_{FFMPEG_DEFAULT}'], digits=2)}"
              " against ffmpeg's default threading")
        print(f"  x264 threads — Tributary: {thread_options(first['tributary']['x264'])};"
              f" ffmpeg same: {thread_options(first[FFMPEG_SAME]['x264'])};"
              f" ffmpeg default: {thread_options(first[FFMPEG_DEFAULT]['x264'])}")
        diff = differing(first["tributary"]["x264"], first[FFMPEG_SAME]["x264"])
        print("  x264 options differing, Tributary vs ffmpeg same settings: "
              + (", ".join(f"{k} {a} vs {b}" for k, a, b in ((k, *v) for k, v in diff.items())) or "none"))
        print(f"  Tributary's pictures step (poster, thumbnails, storyboard; in the ffmpeg runs too):"
              f" {h.fmt_spread(f['pictures_step_s'], ' s', digits=2)}")
    print(f"total {(time.monotonic() - started) / 60:.1f} min")
    h.write_json(args.json, {
        "machine": m, "started": started_at, "settings": settings.model_dump(mode="json"),
        "load_average_before": load,
        "sources": {label: sources[label][0].label for label in labels},
        "ladders": {label: [f"{r.name} {r.rung.width}x{r.rung.height} {r.rung.bitrate // 1000} kb/s"
                            for r in sources[label][3].renditions] for label in labels},
        "figures": figures, "runs": runs,
    })
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
