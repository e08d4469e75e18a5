"""Shared pieces of the benchmarks: the machine, a node process, publishers, an LL-HLS observer.

Every benchmark measures a node running as its own process (``python -m tributary serve
origin``) so its CPU time can be read from ``/proc`` on its own, and publishes media that was
encoded once beforehand, so publishers copy bytes instead of competing with the node for the
two cores. All traffic goes to 127.0.0.1, and every process started here is stopped by
:class:`BenchEnv` on the way out (normal end, exception, Ctrl-C or SIGTERM).

Clocks: publisher send times and HTTP answer times are ``time.monotonic()`` readings in this
process (CLOCK_MONOTONIC is system-wide on Linux), so differences between them need no clock
sync. The server's PROGRAM-DATE-TIME is wall clock (``time.time()``), compared with the
wall clock of the same machine.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import av
import m3u8
import psutil

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOPBACK = "127.0.0.1"

# ------------------------------------------------------------------------------------ machine


@dataclass(frozen=True)
class Machine:
    cores: int
    memory_gib: float
    cpu_model: str
    kernel: str
    python: str
    ffmpeg: str
    commit: str

    def line(self) -> str:
        return (f"machine: {self.cores} cores ({self.cpu_model}), {self.memory_gib:.1f} GiB RAM, "
                f"Linux {self.kernel}, Python {self.python}, {self.ffmpeg}, commit {self.commit}")


def machine() -> Machine:
    """What the figures were measured on: they mean little without the core count."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ffmpeg = "ffmpeg missing"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, timeout=10)
        ffmpeg = " ".join(out.stdout.split()[:3])
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                 capture_output=True, text=True, timeout=10).stdout.strip()
        if changed:
            commit += " + uncommitted changes"
    return Machine(
        cores=psutil.cpu_count(logical=True) or os.cpu_count() or 0,
        memory_gib=psutil.virtual_memory().total / 2**30,
        cpu_model=model,
        kernel=platform.release(),
        python=platform.python_version(),
        ffmpeg=ffmpeg,
        commit=commit,
    )


# ------------------------------------------------------------------------------------ statistics


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), ``q`` in 0..100; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median and range of one figure over repeated runs (the machine is shared and noisy)."""
    clean = [v for v in values if v is not None and not math.isnan(v)]
    if not clean:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "runs": 0}
    return {"median": percentile(clean, 50), "min": min(clean), "max": max(clean),
            "runs": len(clean)}


def fmt_spread(s: dict[str, float], unit: str = "", scale: float = 1.0, digits: int = 0) -> str:
    if not s.get("runs"):
        return "n/a"
    f = f"{{:.{digits}f}}"
    med, lo, hi = (f.format(s[k] * scale) for k in ("median", "min", "max"))
    return f"{med}{unit} ({lo}–{hi}, {s['runs']} runs)" if s["runs"] > 1 else f"{med}{unit}"


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    """Figures for bench/run_all.py, which writes RESULTS.md from them."""
    if path:
        Path(path).write_text(json.dumps(payload, indent=2, default=_json_default))


def _json_default(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[arg-type]
    return str(value)


# ------------------------------------------------------------------------------------ source media


@dataclass(frozen=True)
class SourceSpec:
    """The pre-encoded stream every publisher sends: a typical OBS 720p30 profile.

    H.264 High with B-frames (so packets carry composition offsets, as OBS's do) and a 2 s GOP,
    AAC-LC 48 kHz stereo. Mild temporal noise keeps x264 at its bit rate instead of coasting
    on a static test pattern. 24 s is a whole number of both video frames (720) and AAC frames
    (1125), so looping the file (PyAV publisher or ``ffmpeg -stream_loop``) keeps both tracks'
    timestamps exactly continuous.
    """

    width: int = 1280
    height: int = 720
    fps: int = 30
    seconds: int = 24
    video_kbps: int = 3000
    audio_kbps: int = 128
    bframes: int = 2
    gop: int = 60
    sample_rate: int = 48_000

    @property
    def label(self) -> str:
        return (f"{self.width}x{self.height}p{self.fps} H.264 High bf={self.bframes} "
                f"{self.video_kbps} kb/s GOP {self.gop / self.fps:g} s + AAC {self.sample_rate} Hz "
                f"{self.audio_kbps} kb/s, {self.seconds} s loop")


def ensure_source(spec: SourceSpec = SourceSpec()) -> Path:
    """Encode the source once (cached in the temp dir); publishers then only copy it."""
    cache = Path(tempfile.gettempdir()) / "tributary-bench"
    cache.mkdir(exist_ok=True)
    name = (f"src-{spec.width}x{spec.height}p{spec.fps}-{spec.seconds}s-{spec.video_kbps}k-"
            f"bf{spec.bframes}-g{spec.gop}-{spec.sample_rate}-loopclean.flv")
    path = cache / name
    if path.is_file() and path.stat().st_size > 0:
        return path
    partial = path.with_suffix(f".{os.getpid()}.partial.flv")
    video = (f"testsrc2=size={spec.width}x{spec.height}:rate={spec.fps},"
             "noise=alls=12:allf=t")
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
           "-f", "lavfi", "-i", video,
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={spec.sample_rate}",
           "-t", str(spec.seconds),
           "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
           "-bf", str(spec.bframes), "-g", str(spec.gop), "-keyint_min", str(spec.gop),
           "-sc_threshold", "0", "-b:v", f"{spec.video_kbps}k", "-maxrate", f"{spec.video_kbps}k",
           "-bufsize", f"{spec.video_kbps}k",
           "-c:a", "aac", "-b:a", f"{spec.audio_kbps}k", "-ar", str(spec.sample_rate), "-ac", "2",
           # The AAC encoder's flush adds a 1126th frame; with it, `ffmpeg -stream_loop` advances
           # audio timestamps 1 ms at each seam while 21.3 ms of samples follow, i.e. the audio
           # clock slips 20 ms per loop (and trips the server's audio resync after ~5 loops).
           "-frames:a", str(spec.seconds * spec.sample_rate // 1024),
           "-f", "flv", str(partial)]
    print(f"encoding the source once: {spec.label} -> {path}", flush=True)
    subprocess.run(cmd, check=True, timeout=600)
    partial.replace(path)
    return path


@dataclass(frozen=True, slots=True)
class SourcePacket:
    kind: str  # "video" | "audio"
    dts_ms: int
    pts_ms: int
    keyframe: bool
    data: bytes


@dataclass(frozen=True)
class LoadedSource:
    path: Path
    packets: tuple[SourcePacket, ...]  # one loop, decode order, first dts 0
    loop_ms: int

    @property
    def bitrate_kbps(self) -> float:
        return sum(len(p.data) for p in self.packets) * 8 / self.loop_ms


def load_source(path: Path, spec: SourceSpec = SourceSpec()) -> LoadedSource:
    """Demux one loop into memory, trimmed to exactly ``spec.seconds`` of each track.

    FLV timestamps are milliseconds. Times are rebased so the first packet is at 0, which is
    also where the server's timeline starts (it anchors on the first packet it receives),
    so a message's FLV time and its sample's decode time in the parts agree exactly.
    """
    video_frames = spec.seconds * spec.fps
    audio_frames = spec.seconds * spec.sample_rate // 1024
    packets: list[SourcePacket] = []
    counts = {"video": 0, "audio": 0}
    limits = {"video": video_frames, "audio": audio_frames}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size == 0 or packet.dts is None:
                continue
            kind = packet.stream.type
            if kind not in limits or counts[kind] >= limits[kind]:
                continue
            counts[kind] += 1
            assert packet.time_base == Fraction(1, 1000), packet.time_base
            packets.append(SourcePacket(kind, int(packet.dts), int(packet.pts), packet.is_keyframe,
                                        bytes(packet)))
    packets.sort(key=lambda p: (p.dts_ms, p.kind != "video"))
    base = packets[0].dts_ms
    packets = [SourcePacket(p.kind, p.dts_ms - base, p.pts_ms - base, p.keyframe, p.data)
               for p in packets]
    if packets[0].kind != "video" or not packets[0].keyframe:
        raise ValueError("the source must start with a video keyframe")
    return LoadedSource(path, tuple(packets), spec.seconds * 1000)


# ------------------------------------------------------------------------------------ publishers


@dataclass(slots=True)
class SentMessage:
    kind: str
    dts_ms: int
    keyframe: bool
    size: int
    sent_at: float  # time.monotonic() when the FLV tag went into the socket


class PyAvPublisher:
    """Publishes the source over RTMP from this process, in real time, logging every send.

    PyAV's RTMP output is libavformat's (the same client code as the ffmpeg command line).
    libavformat's interleaving queue holds each packet until the next one is muxed; with
    ``max_interleave_delta=1`` it holds exactly one (checked against a file sink: each
    mux call writes the previous packet), so a packet's send time is taken right after the
    *next* mux call returns, not when it was handed over. ``flush_packets`` pushes each tag
    to the socket at once. Runs on a thread: pacing sleeps and socket writes release the GIL.
    """

    def __init__(self, url: str, source: LoadedSource, *, max_seconds: float | None = None) -> None:
        self.url = url
        self.source = source
        self.max_seconds = max_seconds
        self.sent: list[SentMessage] = []
        self.connect_started: float | None = None
        self.connected_at: float | None = None
        self.first_keyframe_sent: float | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pyav-publisher", daemon=True)

    def start(self) -> None:
        """Connect and publish on the thread; :meth:`wait_connected` awaits the RTMP publish."""
        self._thread.start()

    async def wait_connected(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not self._connected.is_set():
            if self.error is not None:
                raise RuntimeError(f"publisher failed: {self.error}") from self.error
            if time.monotonic() > deadline:
                raise TimeoutError("the RTMP publisher did not connect")
            await asyncio.sleep(0.005)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join, 15)

    def _run(self) -> None:
        try:
            self._publish()
        except BaseException as exc:  # noqa: BLE001 - reported to the benchmark
            self.error = exc

    def _publish(self) -> None:
        with av.open(str(self.source.path)) as template_src:
            self.connect_started = time.monotonic()
            out = av.open(self.url, "w", format="flv",
                          options={"max_interleave_delta": "1", "flush_packets": "1"})
            try:
                streams = {s.type: out.add_stream_from_template(s) for s in template_src.streams
                           if s.type in ("video", "audio")}
                out.start_encoding()  # RTMP handshake, connect, publish: returns once accepted
                self.connected_at = time.monotonic()
                self._connected.set()
                self._pace(out, streams)
            finally:
                out.close()

    def _pace(self, out: Any, streams: dict[str, Any]) -> None:
        packets, loop_ms = self.source.packets, self.source.loop_ms
        time_base = Fraction(1, 1000)
        pending: SentMessage | None = None
        start = time.monotonic()
        index = 0
        while not self._stop.is_set():
            loop, position = divmod(index, len(packets))
            src = packets[position]
            dts = src.dts_ms + loop * loop_ms
            if self.max_seconds is not None and dts / 1000 >= self.max_seconds:
                break
            delay = start + dts / 1000 - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            packet = av.Packet(src.data)
            packet.stream = streams[src.kind]
            packet.time_base = time_base
            packet.dts = dts
            packet.pts = src.pts_ms + loop * loop_ms
            packet.is_keyframe = src.keyframe
            out.mux_one(packet)
            now = time.monotonic()
            if pending is not None:  # this call wrote the previous packet (see class docstring)
                pending.sent_at = now
                self.sent.append(pending)
                if pending.keyframe and pending.kind == "video" and self.first_keyframe_sent is None:
                    self.first_keyframe_sent = now
            pending = SentMessage(src.kind, dts, src.keyframe, len(src.data), math.nan)
            index += 1


class FfmpegPublisher:
    """``ffmpeg -re -stream_loop -1 -i src -c copy -f flv rtmp://…``: a copy, no encoder."""

    def __init__(self, url: str, source: Path, log_path: Path) -> None:
        self.url = url
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
             "-stream_loop", "-1", "-i", str(source), "-c", "copy", "-f", "flv", url],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        terminate(self.proc)
        self._log.close()

    def errors(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace").strip()
        return ""


def terminate(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace``: stop exactly the process we started."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# ------------------------------------------------------------------------------------ services & node


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str


def ensure_tool(command: str, *packages: str) -> str:
    """The path of ``command``; installs the Debian ``packages`` that provide it when it is
    missing, as dev.sh does for ffmpeg (containers' policy-rc.d keeps packaged services off)."""
    search = os.environ.get("PATH", "") + ":/usr/sbin"
    found = shutil.which(command, path=search)
    if found:
        return found
    print(f"{command} missing: installing {' '.join(packages)} from Debian", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *packages], check=True, env=env,
                   timeout=600, stdout=subprocess.DEVNULL)
    found = shutil.which(command, path=search)
    if not found:
        raise RuntimeError(f"installed {' '.join(packages)}, but there is still no {command}")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


class NodeProcess:
    """``python -m tributary serve origin`` on free loopback ports, logging JSON to a file."""

    def __init__(self, services: ServiceUrls, workdir: Path, live: dict[str, Any] | None = None) -> None:
        self.workdir = workdir
        self.http_port = free_port()
        self.rtmp_port = free_port()
        self.http = f"http://{LOOPBACK}:{self.http_port}"
        self.rtmp = f"rtmp://{LOOPBACK}:{self.rtmp_port}/live"
        self.log_path = workdir / "node.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRIBUTARY_") and k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "TRIBUTARY_DATA_DIR": str(workdir / "data"),
            "TRIBUTARY_HTTP__HOST": LOOPBACK,
            "TRIBUTARY_HTTP__PORT": str(self.http_port),
            "TRIBUTARY_RTMP__HOST": LOOPBACK,
            "TRIBUTARY_RTMP__PORT": str(self.rtmp_port),
            "TRIBUTARY_LOG_FORMAT": "json",
            "TRIBUTARY_LOG_LEVEL": "INFO",
        })
        for key, value in (live or {}).items():
            env[f"TRIBUTARY_LIVE__{key.upper()}"] = str(value)
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([PYTHON, "-m", "tributary", "serve", "origin"], cwd=REPO,
                                     env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.ps = psutil.Process(self.pid)

    async def wait_ready(self, http: aiohttp.ClientSession, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited ({self.proc.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(OSError, aiohttp.ClientError, asyncio.TimeoutError):
                async with http.get(f"{self.http}/live/none/master.m3u8") as resp:
                    if resp.status == 404:
                        _, writer = await asyncio.open_connection(LOOPBACK, self.rtmp_port)
                        writer.close()
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"node not ready after {timeout} s:\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    def cpu_seconds(self) -> float:
        """user + system time of the node process, all its threads (the mux workers too)."""
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss_mib(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def stop(self) -> None:
        terminate(self.proc, grace=10)
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def problems(self) -> list[str]:
        """Warnings and errors the node logged: evidence for the report, never hidden."""
        return log_problems(self.log_path)


def log_problems(log_path: Path) -> list[str]:
    """Lines of a JSON log (``TRIBUTARY_LOG_FORMAT=json``) above info, and any non-JSON line."""
    found = []
    with contextlib.suppress(OSError):
        for line in log_path.read_text(errors="replace").splitlines():
            try:
                level = json.loads(line).get("level", "")
            except ValueError:
                level = "raw"
            if level not in ("info", "debug"):
                found.append(line[:400])
    return found


async def stop_embedded(embedded: Any, data_dir: Path) -> None:
    """Stop embedded PostgreSQL/Redis; if their own cleanup fails, end their processes by PID.

    The fallback only touches processes whose command line names ``data_dir`` or the Redis
    socket's directory, both temp dirs this benchmark created, so nothing else is hit.
    """
    markers = [str(data_dir)]
    if embedded.redis_url and embedded.redis_url.startswith("unix://"):
        markers.append(str(Path(embedded.redis_url[len("unix://"):]).parent))
    try:
        await embedded.stop()
        return
    except Exception as exc:  # noqa: BLE001 - fall back to stopping them ourselves
        print(f"embedded services did not stop cleanly ({exc!r}); stopping them by PID",
              file=sys.stderr)
    mine = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.pid != os.getpid() and any(m in cmdline for m in markers):
            mine.append(proc)
    for proc in mine:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGINT)  # PostgreSQL: fast shutdown; Redis: exit
    _, alive = psutil.wait_procs(mine, timeout=10)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


class BenchEnv:
    """One benchmark's world: temp dir, services, node processes, publishers, HTTP client.

    ``async with BenchEnv("name") as env`` owns all of it and tears everything down in
    reverse order on exit, whatever the exit.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tributary-bench-{name}-"))
        self.services: ServiceUrls | None = None
        self.http: aiohttp.ClientSession | None = None
        self._embedded: Any = None
        self._pool: Any = None
        self._nodes: list[NodeProcess] = []
        self._ffmpegs: list[FfmpegPublisher] = []
        self._pyavs: list[PyAvPublisher] = []

    async def __aenter__(self) -> BenchEnv:
        try:
            from tributary.embedded import EmbeddedServices

            database_url = os.environ.get("DATABASE_URL")
            redis_url = os.environ.get("REDIS_URL")
            if not database_url or not redis_url:
                self._embedded = EmbeddedServices()
                if not database_url:
                    database_url = await self._embedded.start_postgres(self.tmp / "services")
                if not redis_url:
                    redis_url = await self._embedded.start_redis(self.tmp / "services")
            self.services = ServiceUrls(database_url, redis_url)
            self.http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=False),
                timeout=aiohttp.ClientTimeout(total=30),
            )
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        for pyav in self._pyavs:
            with contextlib.suppress(Exception):
                await pyav.stop()
        for ff in self._ffmpegs:
            ff.stop()
        if self.http is not None:
            await self.http.close()
        for node in reversed(self._nodes):
            node.stop()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()
        if self._embedded is not None:
            await stop_embedded(self._embedded, self.tmp / "services")
        shutil.rmtree(self.tmp, ignore_errors=True)

    async def start_node(self, **live: Any) -> NodeProcess:
        assert self.services is not None and self.http is not None
        node = NodeProcess(self.services, self.tmp / f"node{len(self._nodes)}", live)
        self._nodes.append(node)
        await node.wait_ready(self.http)
        return node

    def stop_node(self, node: NodeProcess) -> list[str]:
        node.stop()
        return node.problems()

    async def new_stream(self, prefix: str = "b") -> tuple[str, str]:
        """A fresh stream through the catalog (start a node first: it applies migrations)."""
        from catalog.db import open_pool
        from catalog.live_streams import LiveStreamCatalog

        assert self.services is not None
        if self._pool is None:
            self._pool = await open_pool(self.services.database_url, min_size=1, max_size=2)
        created = await LiveStreamCatalog(self._pool).create(f"{prefix}{uuid.uuid4().hex[:10]}")
        return created.stream.name, created.key

    @property
    def ffmpeg_publishers(self) -> list[FfmpegPublisher]:
        """Every ffmpeg publisher started in this environment, stopped or not."""
        return list(self._ffmpegs)

    def pyav_publisher(self, url: str, source: LoadedSource, **kw: Any) -> PyAvPublisher:
        pub = PyAvPublisher(url, source, **kw)
        self._pyavs.append(pub)
        return pub

    def ffmpeg_publisher(self, url: str, source: Path) -> FfmpegPublisher:
        pub = FfmpegPublisher(url, source, self.tmp / f"ffmpeg{len(self._ffmpegs)}.log")
        self._ffmpegs.append(pub)
        return pub


def run(main: Callable[[], Awaitable[int]]) -> int:
    """asyncio.run with SIGTERM treated like Ctrl-C, so BenchEnv always cleans up."""

    async def wrapper() -> int:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await main()

    try:
        return asyncio.run(wrapper())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130


def announce_run(index: int, runs: int) -> tuple[float, float, float]:
    """Print which run starts and the load average before it (the machine is shared, so a
    figure is read beside it); the load average, for the run's record."""
    load = os.getloadavg()
    print(f"run {index + 1}/{runs} (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})", flush=True)
    return load


def print_header(title: str, m: Machine) -> None:
    print(f"== {title} — {dt.datetime.now().isoformat(timespec='seconds')}")
    print(m.line(), flush=True)


# ------------------------------------------------------------------------------------ fMP4


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each box in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise ValueError(f"bad box size {size} at {pos}")
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, s, e in _boxes(data, start, end):
        if k == kind:
            return s, e
    return None


@dataclass(frozen=True, slots=True)
class InitTrack:
    kind: str  # "video" | "audio" | handler type
    timescale: int
    default_duration: int


def parse_init(data: bytes) -> dict[int, InitTrack]:
    """Track id → kind, timescale and trex default duration, from an fMP4 init segment.

    Written here (not imported from the packager) so the measurement does not share a parser
    with the code it measures.
    """
    moov = _child(data, 0, len(data), b"moov")
    if moov is None:
        raise ValueError("init segment without moov")
    defaults: dict[int, int] = {}
    mvex = _child(data, *moov, b"mvex")
    if mvex is not None:
        for k, s, _ in _boxes(data, *mvex):
            if k == b"trex":
                track_id, _, duration = struct.unpack_from(">III", data, s + 4)
                defaults[track_id] = duration
    tracks: dict[int, InitTrack] = {}
    for k, s, e in _boxes(data, *moov):
        if k != b"trak":
            continue
        tkhd = _child(data, s, e, b"tkhd")
        mdia = _child(data, s, e, b"mdia")
        assert tkhd is not None and mdia is not None
        version = data[tkhd[0]]
        track_id = struct.unpack_from(">I", data, tkhd[0] + (20 if version == 1 else 12))[0]
        mdhd = _child(data, *mdia, b"mdhd")
        hdlr = _child(data, *mdia, b"hdlr")
        assert mdhd is not None and hdlr is not None
        mversion = data[mdhd[0]]
        timescale = struct.unpack_from(">I", data, mdhd[0] + (20 if mversion == 1 else 12))[0]
        handler = data[hdlr[0] + 8:hdlr[0] + 12].decode("ascii", "replace")
        kind = {"vide": "video", "soun": "audio"}.get(handler, handler)
        tracks[track_id] = InitTrack(kind, timescale, defaults.get(track_id, 0))
    return tracks


@dataclass(frozen=True, slots=True)
class TrackRun:
    """Samples of one track in one part: decode times [start, end) in the track's timescale."""

    start: int
    end: int
    timescale: int


def parse_fragment(data: bytes, init: dict[int, InitTrack]) -> dict[str, TrackRun]:
    """kind → decode-time range of its samples in this part (tfdt + trun durations)."""
    runs: dict[str, TrackRun] = {}
    for kind, s, e in _boxes(data):
        if kind != b"moof":
            continue
        for tk, ts, te in _boxes(data, s, e):
            if tk != b"traf":
                continue
            tfhd = _child(data, ts, te, b"tfhd")
            tfdt = _child(data, ts, te, b"tfdt")
            assert tfhd is not None and tfdt is not None
            flags = struct.unpack_from(">I", data, tfhd[0])[0] & 0xFFFFFF
            track_id = struct.unpack_from(">I", data, tfhd[0] + 4)[0]
            track = init[track_id]
            pos = tfhd[0] + 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
            default = struct.unpack_from(">I", data, pos)[0] if flags & 0x08 else track.default_duration
            base = (struct.unpack_from(">Q", data, tfdt[0] + 4)[0] if data[tfdt[0]] == 1
                    else struct.unpack_from(">I", data, tfdt[0] + 4)[0])
            total = 0
            for rk, rs, _ in _boxes(data, ts, te):
                if rk != b"trun":
                    continue
                rflags = struct.unpack_from(">I", data, rs)[0] & 0xFFFFFF
                count = struct.unpack_from(">I", data, rs + 4)[0]
                pos = rs + 8 + (4 if rflags & 0x01 else 0) + (4 if rflags & 0x04 else 0)
                fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if rflags & bit]
                for _ in range(count):
                    if rflags & 0x100:
                        total += struct.unpack_from(">I", data, pos)[0]
                    else:
                        total += default
                    pos += 4 * len(fields)
            previous = runs.get(track.kind)
            start = base if previous is None else min(previous.start, base)
            runs[track.kind] = TrackRun(start, max(base + total, previous.end if previous else 0),
                                        track.timescale)
    return runs


# ------------------------------------------------------------------------------------ LL-HLS observer

_PART_URI = re.compile(r"part(\d+)\.m4s$")
_MAP_URI = re.compile(r'#EXT-X-MAP:URI="([^"]+)"')


@dataclass(slots=True)
class ObservedPart:
    index: int
    msn: int
    duration: float
    independent: bool
    requested_at: float
    available_at: float
    exact: bool  # the only new part in its answer: its availability time is not an upper bound
    uri: str
    runs: dict[str, TrackRun] = field(default_factory=dict)


class PartObserver:
    """Learns when each part of a stream becomes fetchable, as a player would, over HTTP.

    It holds a blocking playlist reload for the part after the newest one
    (``_HLS_msn``/``_HLS_part``); the server answers the moment that part is in the playlist,
    so the answer's arrival time is the part's availability time (plus loopback HTTP time, which
    a real client pays too). When one answer brings several new parts, only the last was waited
    for; the others are flagged ``exact=False`` (their time is only an upper bound). Each new
    part's bytes are fetched in the background to read its decode-time ranges (tfdt/trun).
    """

    def __init__(self, http: aiohttp.ClientSession, playlist_url: str) -> None:
        self.http = http
        self.url = playlist_url
        self.parts: list[ObservedPart] = []
        self.errors: list[str] = []
        self.first_playlist_at: float | None = None
        self._inits: dict[str, dict[int, InitTrack]] = {}
        self._fetches: set[asyncio.Task[None]] = set()
        self._last_index = -1

    async def run(self, stop: asyncio.Event) -> None:
        playlist = await self._first_playlist(stop)
        if playlist is None:
            return
        while not stop.is_set():
            msn, part = self._next_position(playlist)
            requested = time.monotonic()
            waiter = asyncio.ensure_future(self._get(_HLS_msn=str(msn), _HLS_part=str(part)))
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if waiter not in done:
                waiter.cancel()
                break
            try:
                status, text = waiter.result()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                # An overloaded node may not answer within the client timeout: note it and
                # pick the live edge up again from a plain reload.
                self.errors.append(f"blocking reload {msn}.{part}: {exc!r}")
                resumed = await self._first_playlist(stop)
                if resumed is None:
                    break
                playlist = resumed
                continue
            now = time.monotonic()
            if status != 200:
                self.errors.append(f"blocking reload {msn}.{part}: HTTP {status} {text[:120]!r}")
                if status in (404, 410):
                    break
                resumed = await self._first_playlist(stop)
                if resumed is None:
                    break
                playlist = resumed
                continue
            playlist = m3u8.loads(text)
            self._record(playlist, text, requested, now, waited=True)
            if playlist.is_endlist:
                break
        if self._fetches:
            await asyncio.gather(*self._fetches, return_exceptions=True)

    async def _first_playlist(self, stop: asyncio.Event) -> m3u8.M3U8 | None:
        """Poll every 10 ms until a playlist with a part exists (a live stream holds the request).

        Parts it finds that were not seen before are recorded too (``exact`` only if alone).
        """
        while not stop.is_set():
            requested = time.monotonic()
            try:
                status, text = await self._get()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.errors.append(f"first playlist: {exc!r}")
                status, text = 0, ""
            now = time.monotonic()
            if status == 200 and "#EXT-X-PART:" in text:
                # The very first request of a stream that has no part yet is held by the
                # server until its first part: that answer's time is exact. Later (resyncing)
                # plain reloads are not.
                waited = self.first_playlist_at is None
                if waited:
                    self.first_playlist_at = now
                playlist = m3u8.loads(text)
                self._record(playlist, text, requested, now, waited=waited)
                return playlist
            await asyncio.sleep(0.01)
        return None

    async def _get(self, **params: str) -> tuple[int, str]:
        async with self.http.get(self.url, params=params or None) as resp:
            return resp.status, await resp.text()

    @staticmethod
    def _next_position(playlist: m3u8.M3U8) -> tuple[int, int]:
        last = playlist.segments[-1]
        msn = playlist.media_sequence + len(playlist.segments) - 1
        if last.uri:  # a complete last segment: the next part opens the next one
            return msn + 1, 0
        return msn, len(last.parts)

    def _record(self, playlist: m3u8.M3U8, text: str, requested: float, now: float, *,
                waited: bool) -> None:
        new: list[tuple[int, int, Any, str]] = []
        # m3u8 leaves init_section unset on a segment that has only parts so far.
        first_map = _MAP_URI.search(text)
        init_uri = first_map[1] if first_map else ""
        for offset, segment in enumerate(playlist.segments):
            msn = playlist.media_sequence + offset
            if segment.init_section is not None:  # EXT-X-MAP applies until the next one
                init_uri = segment.init_section.uri
            for part in segment.parts:
                match = _PART_URI.search(part.uri)
                assert match, part.uri
                index = int(match[1])
                if index > self._last_index:
                    new.append((index, msn, part, init_uri))
        for index, msn, part, init_uri in new:
            observed = ObservedPart(index, msn, float(part.duration), part.independent == "YES",
                                    requested, now, exact=waited and len(new) == 1, uri=part.uri)
            self.parts.append(observed)
            task = asyncio.ensure_future(self._fetch(observed, init_uri))
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)
        if new:
            self._last_index = new[-1][0]

    async def _fetch(self, part: ObservedPart, init_uri: str) -> None:
        base = self.url.rsplit("/", 1)[0]
        try:
            if init_uri not in self._inits:
                async with self.http.get(f"{base}/{init_uri}") as resp:
                    self._inits[init_uri] = parse_init(await resp.read())
            async with self.http.get(f"{base}/{part.uri}") as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
            part.runs = parse_fragment(body, self._inits[init_uri])
        except Exception as exc:  # noqa: BLE001 - counted and reported
            self.errors.append(f"fetch {part.uri}: {exc!r}")


# ------------------------------------------------------------------------------------ latency mapping


@dataclass
class IngestToPart:
    """(part available over HTTP) − (RTMP message sent), per message and per completing message."""

    messages: list[float]
    completing: list[float]
    after_closing_frame: list[float]
    """available − send of the next part's first video frame: from the moment the part's
    content was complete and its last frame's duration known, to fetchable."""
    parts_used: int
    parts_inexact: int
    parts_without_runs: int
    unmapped_messages: int
    video_start_mismatches: int
    media_seconds: float

    def summary(self) -> dict[str, float]:
        return {
            "msg_p50": percentile(self.messages, 50),
            "msg_p95": percentile(self.messages, 95),
            "msg_max": max(self.messages, default=math.nan),
            "last_p50": percentile(self.completing, 50),
            "last_p95": percentile(self.completing, 95),
            "last_max": max(self.completing, default=math.nan),
            "closing_p50": percentile(self.after_closing_frame, 50),
            "closing_p95": percentile(self.after_closing_frame, 95),
            "messages": len(self.messages),
            "parts": self.parts_used,
            "parts_inexact": self.parts_inexact,
            "unmapped_messages": self.unmapped_messages,
            "parts_without_runs": self.parts_without_runs,
            "video_start_mismatches": self.video_start_mismatches,
            "media_seconds": self.media_seconds,
        }


def ingest_to_part(sent: Sequence[SentMessage], parts: Sequence[ObservedPart],
                   window: tuple[float, float] | None = None) -> IngestToPart:
    """Map each sent message to the part holding its sample, by decode time per track.

    Video decode times are the FLV milliseconds × 90 exactly (the server's timeline starts at
    the first packet, which is the publisher's time 0). Audio is re-clocked by the server to
    whole 1024-sample frames, within a millisecond of FLV time × rate / 1000, so audio is
    looked up at the middle of its frame. ``window`` keeps only parts that became available
    within it (the capacity benchmark measures one step at a time).
    """
    chosen = [p for p in parts if window is None or window[0] <= p.available_at <= window[1]]
    with_runs = [p for p in chosen if p.runs]
    index: dict[str, tuple[list[int], list[tuple[int, int, ObservedPart]]]] = {}
    for kind in ("video", "audio"):
        ranges = sorted((p.runs[kind].start, p.runs[kind].end, p) for p in with_runs if kind in p.runs)
        index[kind] = ([r[0] for r in ranges], ranges)
    video_starts = {m.dts_ms * 90 for m in sent if m.kind == "video"}
    mismatches = sum(1 for p in with_runs if "video" in p.runs and p.runs["video"].timescale == 90_000
                     and p.runs["video"].start not in video_starts)
    last_sent: dict[int, float] = {}
    latencies: list[float] = []
    unmapped = 0
    lo = min((p.runs["video"].start / 90_000 for p in with_runs if "video" in p.runs), default=0)
    hi = max((p.runs["video"].end / 90_000 for p in with_runs if "video" in p.runs), default=0)
    for message in sent:
        if math.isnan(message.sent_at):
            continue
        starts, ranges = index[message.kind]
        if not ranges:
            continue
        timescale = ranges[0][2].runs[message.kind].timescale
        units = message.dts_ms * timescale // 1000
        if message.kind == "audio":
            units += 512
        i = bisect.bisect_right(starts, units) - 1
        if i < 0 or units >= ranges[i][1]:
            if lo + 0.5 <= message.dts_ms / 1000 <= hi - 0.5:
                unmapped += 1  # inside the observed media but in no part: would be a loss
            continue
        part = ranges[i][2]
        if not part.exact:
            continue
        latencies.append(part.available_at - message.sent_at)
        last_sent[id(part)] = max(last_sent.get(id(part), -math.inf), message.sent_at)
    exact_parts = {id(p): p for p in with_runs if p.exact}
    completing = [exact_parts[k].available_at - t for k, t in last_sent.items() if k in exact_parts]
    video_sent = {m.dts_ms * 90: m.sent_at for m in sent if m.kind == "video"}
    closing = [p.available_at - video_sent[p.runs["video"].end]
               for p in exact_parts.values()
               if "video" in p.runs and p.runs["video"].end in video_sent]
    return IngestToPart(
        messages=latencies,
        completing=completing,
        after_closing_frame=closing,
        parts_used=len(exact_parts),
        parts_inexact=sum(1 for p in chosen if not p.exact),
        parts_without_runs=len(chosen) - len(with_runs),
        unmapped_messages=unmapped,
        video_start_mismatches=mismatches,
        media_seconds=sum(p.duration for p in chosen),
    )


def part_pace(parts: Sequence[ObservedPart], window: tuple[float, float]) -> float:
    """Media seconds published per wall second over the window (1.0 = keeping up)."""
    inside = [p for p in parts if window[0] <= p.available_at <= window[1]]
    if len(inside) < 3:
        return math.nan
    media = sum(p.duration for p in inside[1:])
    wall = inside[-1].available_at - inside[0].available_at
    return media / wall if wall > 0 else math.nan


# ------------------------------------------------------------------------------------ misc probes

_PDT = re.compile(r"^#EXT-X-PROGRAM-DATE-TIME:(.+)$")
_PART_DURATION = re.compile(r"^#EXT-X-PART:DURATION=([0-9.]+)")


async def live_edge_lag(http: aiohttp.ClientSession, playlist_url: str) -> float:
    """Wall time now minus the ingest wall time of the newest media in the playlist.

    The server anchors PROGRAM-DATE-TIME at the ingest wall clock, so the last segment's PDT
    plus the parts after it is when the newest listed media arrived. A stream that keeps up
    shows a part or two of lag; one that falls behind shows it growing.
    """
    async with http.get(playlist_url) as resp:
        text = await resp.text()
        if resp.status != 200:
            return math.nan
    now = time.time()
    last_pdt: float | None = None
    after = 0.0
    for line in text.splitlines():
        match = _PDT.match(line)
        if match:
            last_pdt = dt.datetime.fromisoformat(match[1].replace("Z", "+00:00")).timestamp()
            after = 0.0
            continue
        match = _PART_DURATION.match(line)
        if match:
            after += float(match[1])
    return math.nan if last_pdt is None else now - (last_pdt + after)


async def wait_live(http: aiohttp.ClientSession, playlist_url: str,
                    publishing: Callable[[], bool] = lambda: True, timeout: float = 20) -> None:
    """Until the media playlist lists a part (a live stream holds the request until then)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with http.get(playlist_url) as resp:
                if resp.status == 200 and "#EXT-X-PART:" in await resp.text():
                    return
        if time.monotonic() > deadline or not publishing():
            raise RuntimeError(f"{playlist_url} never went live")
        await asyncio.sleep(0.05)


def machine_busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all cores) since boot, idle and iowait excluded."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def process_cpu_seconds(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return math.nan
