"""VOD upload throughput: tus into a node storing on local disk or on S3, against plain copies.

One file of random bytes (512 MiB by default: incompressible, so nothing on the way can cheat;
made once and cached) goes up through ``/api/v1/uploads`` with tuspy, the tus project's Python
client (blocking ``requests``, one PATCH per 8 MiB chunk, no checksums: its defaults but the
chunk size), run on a thread of this process. The node is ``python -m tributary serve origin``
as its own process, which has no job worker, so nothing transcodes: a finished upload is handed
to storage, its video turns ``processing`` and a transcode job waits in Redis for a worker that
never comes. Two nodes, a fresh one per run each:

* **local disk**: storage under the node's data directory (the default), on the same file
  system as the staging directory, the source file and the copies below;
* **S3**: ``storage.s3`` pointed (``TRIBUTARY_STORAGE__S3__*``) at moto's S3 server
  (``python -m moto.server``, the same server the tests run from ``tests/support/s3.py``) on
  loopback, in a process of its own so its CPU is counted apart. Parts of 8 MiB (the setting's
  default, and S3's usual).

Timed, per upload: from the first PATCH (the creation POST comes before: no byte of the file
is in it) to the moment the video is ``processing`` in the catalog (polled every 20 ms once the
last PATCH was answered): every byte received, fsynced and counted (the offset in PostgreSQL,
per PATCH), then handed over: copied into storage (local: a copy fsynced before it is renamed
into place; S3: a multipart upload, one part after another) and the video's status changed.
Reported: MB/s (10^6 bytes) over that time, the receive phase's own MB/s and the hand-over's
seconds; CPU of the node, of this process (the tus client) and of moto.

Baselines, same file, same disk, measured in every run:

* **copy**: ``shutil.copyfile`` to the same file system, timed to its return (the bytes are
  then in the page cache, not necessarily on the disk), and **copy + fsync**: the same copy until
  it is durable, which is what Tributary guarantees before it answers a PATCH and before the
  hand-over deletes the staged file;
* for S3 also **aioboto3 ``upload_file``** (boto3's managed transfer: 8 MiB parts, 10 in flight)
  and **aioboto3, parts one at a time** (create, ``upload_part`` in a loop, complete: Tributary's
  own way of going about it), from this process to the same moto server.

Ratios are throughputs, Tributary ÷ baseline: 0.5 means half as fast. The measurements of a run
go in an order rotated from run to run. Page cache: the source file is read once before the
first measurement, so every read of it comes from memory; every measurement starts with no dirty
pages (``os.sync()``, untimed), so none pays for the one before's writes. What is written stays
in the page cache (23 GiB of RAM) unless fsynced.

    .venv/bin/python -m bench.vod_upload [--runs 3] [--mib 512] [--chunk-mib 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import os
import resource
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from tusclient.client import TusClient

from bench import harness as h
from bench.vod_files import cached_file
from catalog.db import open_pool
from catalog.uploads import Uploads
from catalog.videos import Status, Videos
from tests.support.s3 import operator_client, s3_settings
from tributary.logs import configure_logging

MB = 1_000_000
MIB = 1024 * 1024
POLL_S = 0.02
"""How often the video's status is read once the last PATCH was answered: fine enough for a
hand-over of a second or more, and light on the two cores the node and moto need."""
TARGETS = ("local", "s3")
BASELINES = {
    "local": ("copy", "copy_fsync"),
    "s3": ("aioboto3_managed", "aioboto3_sequential", "copy"),
}
LABELS = {
    "tus": "tus → node → storage",
    "copy": "shutil.copyfile (page cache)",
    "copy_fsync": "shutil.copyfile + fsync",
    "aioboto3_managed": "aioboto3 upload_file (10 parts in flight)",
    "aioboto3_sequential": "aioboto3, one part at a time",
}


# ------------------------------------------------------------------------------------ processes


class ConfiguredNode(h.NodeProcess):
    """The harness's node process with any settings (``TRIBUTARY_*`` variables), not only live
    ones: the S3 node needs ``storage.s3``, and every node the same ``secret_key``, so that one
    account's token works on all of them. Started, checked and stopped as the harness's are."""

    def __init__(self, services: h.ServiceUrls, workdir: Path, settings: dict[str, str]) -> None:
        self.workdir = workdir
        self.http_port = h.free_port()
        self.rtmp_port = h.free_port()
        self.http = f"http://{h.LOOPBACK}:{self.http_port}"
        self.rtmp = f"rtmp://{h.LOOPBACK}:{self.rtmp_port}/live"
        self.log_path = workdir / "node.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRIBUTARY_") and k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({
            "DATABASE_URL": services.database_url,
            "REDIS_URL": services.redis_url,
            "TRIBUTARY_DATA_DIR": str(workdir / "data"),
            "TRIBUTARY_HTTP__HOST": h.LOOPBACK,
            "TRIBUTARY_HTTP__PORT": str(self.http_port),
            "TRIBUTARY_RTMP__HOST": h.LOOPBACK,
            "TRIBUTARY_RTMP__PORT": str(self.rtmp_port),
            "TRIBUTARY_LOG_FORMAT": "json",
            "TRIBUTARY_LOG_LEVEL": "INFO",
            **settings,
        })
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([h.PYTHON, "-m", "tributary", "serve", "origin"], cwd=h.REPO,
                                     env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.ps = psutil.Process(self.pid)

    @property
    def uploads_url(self) -> str:
        return f"{self.http}/api/v1/uploads"


class MotoServer:
    """moto's S3 server on a free loopback port, as its own process (its CPU apart from ours)."""

    def __init__(self, workdir: Path) -> None:
        port = h.free_port()
        self.endpoint = f"http://{h.LOOPBACK}:{port}"
        self.log_path = workdir / "moto.log"
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen([h.PYTHON, "-m", "moto.server", "-H", h.LOOPBACK, "-p", str(port)],
                                     cwd=h.REPO, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)

    async def wait_ready(self, http: aiohttp.ClientSession, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                log = self.log_path.read_text(errors="replace")[-500:]
                raise RuntimeError(f"moto exited ({self.proc.returncode}): {log}")
            try:
                async with http.get(self.endpoint) as resp:
                    if resp.status == 200:
                        return
            except (OSError, aiohttp.ClientError, asyncio.TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"moto not ready after {timeout} s")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        h.terminate(self.proc)
        self._log.close()


def s3_environment(endpoint: str, bucket: str) -> dict[str, str]:
    """``TRIBUTARY_STORAGE__S3__*`` for the tests' S3 settings (moto's credentials and region)."""
    env = {}
    for name, value in s3_settings(endpoint, bucket).model_dump(exclude_none=True).items():
        plain = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"TRIBUTARY_STORAGE__S3__{name.upper()}"] = str(plain)
    return env


# ------------------------------------------------------------------------------------ measuring


class Meter:
    """CPU of this process and of the given processes, and of everyone else, over a measurement."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self._procs = procs

    def _read(self) -> dict[str, float]:
        me = resource.getrusage(resource.RUSAGE_SELF)
        read = {name: h.process_cpu_seconds(p) for name, p in self._procs.items()}
        return {"client": me.ru_utime + me.ru_stime, **read, "machine": h.machine_busy_seconds(),
                "t": time.monotonic()}

    async def measure(self, work: Callable[[], Awaitable[dict[str, float]]]) -> dict[str, Any]:
        """``await work()``, which returns its own timings; with the CPU spent meanwhile."""
        before = self._read()
        timings = await work()
        after = self._read()
        cpu = {f"{k}_cpu_s": after[k] - before[k] for k in before if k not in ("machine", "t")}
        ours = sum(cpu.values())
        elapsed = after["t"] - before["t"]
        return {**timings, **cpu,
                "others_cpu_pct": 100 * max(0.0, after["machine"] - before["machine"] - ours) / elapsed}


async def register(http: aiohttp.ClientSession, node: ConfiguredNode) -> str:
    """A creator account (with its channel) through the API; its access token."""
    tag = uuid.uuid4().hex[:10]
    body = {"email": f"bench{tag}@example.org", "username": f"bench{tag}", "display_name": "Bench",
            "password": secrets.token_urlsafe(16), "creator": True}
    async with http.post(f"{node.http}/api/v1/auth/register", json=body) as resp:
        answer = await resp.json()
        if resp.status != 201:
            raise RuntimeError(f"register: HTTP {resp.status} {answer}")
    return str(answer["tokens"]["access_token"])


def tus_upload(url: str, token: str, path: Path, chunk: int) -> tuple[str, float, float]:
    """tuspy, blocking (run it on a thread): the upload's URL, first PATCH sent, last answered."""
    client = TusClient(url, headers={"Authorization": f"Bearer {token}"})
    uploader = client.uploader(file_path=str(path), chunk_size=chunk,
                               metadata={"title": "upload bench", "filename": path.name,
                                         "filetype": "video/mp4"})
    uploader.set_url(uploader.create_url())  # creation: before the file's first byte
    started = time.monotonic()
    uploader.upload()
    return uploader.url, started, time.monotonic()


async def upload_through(node: ConfiguredNode, pool: Any, token: str, path: Path,
                         chunk: int) -> dict[str, float]:
    """One tus upload to ``node``, until its video is ``processing`` (the hand-over done)."""
    url, started, received = await asyncio.to_thread(tus_upload, node.uploads_url, token, path, chunk)
    upload = await Uploads(pool).get(url.rstrip("/").rsplit("/", 1)[1])
    assert upload is not None and upload.complete, url
    videos = Videos(pool)
    deadline = time.monotonic() + 300
    while True:
        video = await videos.get(upload.video_public_id)
        if video is not None and video.status is Status.PROCESSING:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"video {upload.video_public_id} still {video and video.status}"
                               f" after 300 s: {node.problems()[-3:]}")
        await asyncio.sleep(POLL_S)
    done = time.monotonic()
    size = path.stat().st_size
    return {"wall_s": done - started, "mb_s": size / MB / (done - started),
            "receive_s": received - started, "receive_mb_s": size / MB / (received - started),
            "hand_over_s": done - received}


def copy_file(source: Path, target: Path) -> dict[str, float]:
    """``shutil.copyfile``, timed to its return and to the copy being durable (fsync)."""
    started = time.monotonic()
    shutil.copyfile(source, target)
    copied = time.monotonic()
    with target.open("rb") as file:
        os.fsync(file.fileno())
    synced = time.monotonic()
    target.unlink()
    size = source.stat().st_size
    return {"copy_s": copied - started, "copy_mb_s": size / MB / (copied - started),
            "copy_fsync_s": synced - started, "copy_fsync_mb_s": size / MB / (synced - started)}


async def aioboto3_upload(endpoint: str, bucket: str, path: Path, *, part: int,
                          managed: bool) -> dict[str, float]:
    """The file to moto with aioboto3: its managed ``upload_file``, or parts one at a time."""
    key = f"baseline-{uuid.uuid4().hex[:8]}"
    async with operator_client(endpoint) as client:
        started = time.monotonic()
        if managed:
            await client.upload_file(str(path), bucket, key)
        else:
            created = await client.create_multipart_upload(Bucket=bucket, Key=key)
            parts = []
            with path.open("rb") as file:
                while data := await asyncio.to_thread(file.read, part):
                    number = len(parts) + 1
                    done = await client.upload_part(Bucket=bucket, Key=key, UploadId=created["UploadId"],
                                                    PartNumber=number, Body=data)
                    parts.append({"PartNumber": number, "ETag": done["ETag"]})
            await client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=created["UploadId"],
                                                   MultipartUpload={"Parts": parts})
        finished = time.monotonic()
        stored = await client.head_object(Bucket=bucket, Key=key)
        await client.delete_object(Bucket=bucket, Key=key)
    size = path.stat().st_size
    assert stored["ContentLength"] == size, stored
    return {"wall_s": finished - started, "mb_s": size / MB / (finished - started)}


async def empty_bucket(endpoint: str, bucket: str) -> None:
    """Tributary's stored uploads go: moto keeps objects in memory (or spooled to its temp files)."""
    async with operator_client(endpoint) as client:
        listed = await client.list_objects_v2(Bucket=bucket)
        for item in listed.get("Contents", ()):
            await client.delete_object(Bucket=bucket, Key=item["Key"])


# ------------------------------------------------------------------------------------ one run


async def run_once(env: h.BenchEnv, pool: Any, token_for: Callable[[ConfiguredNode], Awaitable[str]],
                   path: Path, args: argparse.Namespace, secret: str, moto: MotoServer | None,
                   bucket: str, run: int) -> dict[str, Any]:
    """Every measurement of one run, in an order rotated from run to run: moto's memory and the
    page cache change over a run, so no measurement is always the first (or the last)."""
    assert env.services is not None and env.http is not None
    services, http = env.services, env.http
    chunk = args.chunk_mib * MIB
    result: dict[str, Any] = {"load_average_before": os.getloadavg()}

    async def copies() -> None:
        timed = await asyncio.to_thread(copy_file, path, env.tmp / "copy.bin")
        result["copy"] = {"wall_s": timed["copy_s"], "mb_s": timed["copy_mb_s"]}
        result["copy_fsync"] = {"wall_s": timed["copy_fsync_s"], "mb_s": timed["copy_fsync_mb_s"]}

    async def through_node(target: str) -> None:
        settings = {"TRIBUTARY_SECRET_KEY": secret}
        procs: dict[str, psutil.Process] = {}
        if target == "s3":
            assert moto is not None
            settings.update(s3_environment(moto.endpoint, bucket))
            procs["moto"] = moto.ps
        workdir = env.tmp / f"node-{target}-{run}"
        node = ConfiguredNode(services, workdir, settings)
        try:
            await node.wait_ready(http)
            token = await token_for(node)
            await asyncio.to_thread(os.sync)  # the node's start-up writes too
            measured = await Meter({"node": node.ps, **procs}).measure(
                lambda: upload_through(node, pool, token, path, chunk))
        finally:
            node.stop()
        result[f"{target}_tus"] = {**measured, "node_problems": node.problems()[:10]}
        shutil.rmtree(workdir, ignore_errors=True)
        if moto is not None and target == "s3":
            await empty_bucket(moto.endpoint, bucket)

    async def aioboto3_baseline(managed: bool) -> None:
        assert moto is not None
        endpoint = moto.endpoint
        name = "aioboto3_managed" if managed else "aioboto3_sequential"
        result[name] = await Meter({"moto": moto.ps}).measure(
            lambda: aioboto3_upload(endpoint, bucket, path, part=chunk, managed=managed))

    steps: list[Callable[[], Awaitable[None]]] = [copies]
    steps += [functools.partial(through_node, target) for target in args.targets]
    if "s3" in args.targets:
        steps += [functools.partial(aioboto3_baseline, managed) for managed in (True, False)]
    shift = run % len(steps)
    for step in steps[shift:] + steps[:shift]:
        await asyncio.to_thread(os.sync)  # no dirty pages left for this one to pay for
        await step()
    for target in args.targets:
        tus = result[f"{target}_tus"]["mb_s"]
        for base in BASELINES[target]:
            result[f"{target}_ratio_{base}"] = tus / result[base]["mb_s"]
    return result


def _run_lines(r: dict[str, Any], targets: list[str]) -> list[str]:
    lines = [f"    copy: {r['copy']['mb_s']:.0f} MB/s ({r['copy']['wall_s']:.2f} s); copy + fsync:"
             f" {r['copy_fsync']['mb_s']:.0f} MB/s ({r['copy_fsync']['wall_s']:.2f} s)"]
    for target in targets:
        t = r[f"{target}_tus"]
        moto = f", moto {t['moto_cpu_s']:.1f} s" if "moto_cpu_s" in t else ""
        ratios = ", ".join(f"{r[f'{target}_ratio_{b}']:.2f} of {b}" for b in BASELINES[target])
        lines.append(
            f"    tus → {target}: {t['mb_s']:.0f} MB/s ({t['wall_s']:.2f} s: receive {t['receive_s']:.2f} s"
            f" = {t['receive_mb_s']:.0f} MB/s, hand-over {t['hand_over_s']:.2f} s); CPU node"
            f" {t['node_cpu_s']:.1f} s, client {t['client_cpu_s']:.1f} s{moto}; others"
            f" {t['others_cpu_pct']:.0f}% of a core | {ratios}")
        for problem in t["node_problems"]:
            lines.append(f"      ! {problem[:300]}")
    if "s3" in targets:
        for name in ("aioboto3_managed", "aioboto3_sequential"):
            b = r[name]
            lines.append(f"    {LABELS[name]}: {b['mb_s']:.0f} MB/s ({b['wall_s']:.2f} s; CPU client"
                         f" {b['client_cpu_s']:.1f} s, moto {b['moto_cpu_s']:.1f} s)")
    return lines


# ------------------------------------------------------------------------------------ main


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mib", type=int, default=512, help="size of the uploaded file, MiB")
    parser.add_argument("--chunk-mib", type=int, default=8, help="tus PATCH size (tuspy chunk_size), MiB")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated: local,s3")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    args.targets = [t for t in args.targets.split(",") if t]
    configure_logging("WARNING", "console")
    m = h.machine()
    h.print_header("VOD upload throughput: tus → storage vs plain copies", m)
    started = time.monotonic()
    started_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    def make(partial: Path) -> None:
        print(f"writing {args.mib} MiB of random bytes once -> {partial.parent}", flush=True)
        with partial.open("wb") as file:
            for _ in range(args.mib):
                file.write(os.urandom(MIB))

    path = cached_file(f"upload-random-{args.mib}MiB.bin", make)
    with path.open("rb") as file:  # into the page cache: every measurement reads it from memory
        while file.read(8 * MIB):
            pass
    load = os.getloadavg()
    print(f"file: {args.mib} MiB of random bytes ({path}); tuspy, {args.chunk_mib} MiB per PATCH;"
          f" targets {', '.join(args.targets)}; load average before: {load[0]:.2f} {load[1]:.2f}"
          f" {load[2]:.2f}", flush=True)
    secret = secrets.token_urlsafe(32)
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    runs: list[dict[str, Any]] = []
    async with h.BenchEnv("vod-upload") as env:
        assert env.services is not None and env.http is not None
        moto: MotoServer | None = None
        pool = await open_pool(env.services.database_url, min_size=1, max_size=2)
        token: str | None = None

        async def token_for(node: ConfiguredNode) -> str:
            """One account for every node (they share the secret key): registering is rate limited."""
            nonlocal token
            if token is None:
                assert env.http is not None
                token = await register(env.http, node)
            return token

        try:
            if "s3" in args.targets:
                moto = MotoServer(env.tmp / "moto")
                await moto.wait_ready(env.http)
                async with operator_client(moto.endpoint) as client:
                    await client.create_bucket(Bucket=bucket)
            for run in range(args.runs):
                print(f"run {run + 1}/{args.runs} (load average {os.getloadavg()[0]:.2f})", flush=True)
                r = await run_once(env, pool, token_for, path, args, secret, moto, bucket, run)
                runs.append(r)
                print("\n".join(_run_lines(r, args.targets)), flush=True)
        finally:
            await pool.close()
            if moto is not None:
                moto.stop()

    figures: dict[str, Any] = {
        "copy_mb_s": h.spread([r["copy"]["mb_s"] for r in runs]),
        "copy_fsync_mb_s": h.spread([r["copy_fsync"]["mb_s"] for r in runs]),
    }
    for target in args.targets:
        for key in ("mb_s", "receive_mb_s", "hand_over_s", "node_cpu_s", "client_cpu_s"):
            figures[f"{target}_{key}"] = h.spread([r[f"{target}_tus"][key] for r in runs])
        for base in BASELINES[target]:
            figures[f"{target}_ratio_{base}"] = h.spread([r[f"{target}_ratio_{base}"] for r in runs])
    if "s3" in args.targets:
        figures["s3_moto_cpu_s"] = h.spread([r["s3_tus"]["moto_cpu_s"] for r in runs])
        for name in ("aioboto3_managed", "aioboto3_sequential"):
            figures[f"{name}_mb_s"] = h.spread([r[name]["mb_s"] for r in runs])
    print()
    print(h.machine().line())
    print(f"{args.mib} MiB, MB/s = 10^6 bytes/s, medians (range over runs):")
    print(f"  {LABELS['copy']}: {h.fmt_spread(figures['copy_mb_s'], ' MB/s')};"
          f" {LABELS['copy_fsync']}: {h.fmt_spread(figures['copy_fsync_mb_s'], ' MB/s')}")
    for target in args.targets:
        print(f"  {LABELS['tus']} ({target}): {h.fmt_spread(figures[f'{target}_mb_s'], ' MB/s')}"
              f" (receive alone {h.fmt_spread(figures[f'{target}_receive_mb_s'], ' MB/s')},"
              f" hand-over {h.fmt_spread(figures[f'{target}_hand_over_s'], ' s', digits=2)})")
        for base in BASELINES[target]:
            print(f"    ÷ {LABELS[base]}: {h.fmt_spread(figures[f'{target}_ratio_{base}'], digits=2)}")
    if "s3" in args.targets:
        for name in ("aioboto3_managed", "aioboto3_sequential"):
            print(f"  {LABELS[name]}: {h.fmt_spread(figures[f'{name}_mb_s'], ' MB/s')}")
    print(f"total {(time.monotonic() - started) / 60:.1f} min")
    h.write_json(args.json, {
        "machine": m, "started": started_at, "mib": args.mib, "chunk_mib": args.chunk_mib,
        "targets": args.targets,
        "load_average_before": load, "figures": figures, "runs": runs,
    })
    return 0


if __name__ == "__main__":
    raise SystemExit(h.run(main))
