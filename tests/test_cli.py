"""The real command line, as a newcomer runs it: embedded PostgreSQL and Redis, no URLs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys

import aiohttp
import asyncpg

from tests.support.ffmpeg import Source, make_file, publish, start_publish
from tests.support.nodes import node_factory

BANNER_KEY = re.compile(r"Stream Key: (trb_\S+)")
BANNER_RTMP = re.compile(r"Server:\s+(rtmp://\S+)")


def cli_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        TRIBUTARY_DATA_DIR=str(tmp_path / "data"),
        TRIBUTARY_HTTP__PORT="0",
        TRIBUTARY_RTMP__PORT="0",
        TRIBUTARY_LOG_FORMAT="json",
    )
    return env


async def test_up_on_embedded_defaults_then_clean_shutdown(tmp_path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "up",
        env=cli_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        banner = ""
        while "Watch:" not in banner:
            line = await asyncio.wait_for(proc.stdout.readline(), 120)
            assert line, "tributary up exited before printing its banner"
            banner += line.decode()
        key = BANNER_KEY.search(banner)[1]
        rtmp = BANNER_RTMP.search(banner)[1]
        code, err = await publish(f"{rtmp}/{key}", Source(seconds=2))
        assert code == 0, err
        # Shut down in the middle of a publish: the publisher is disconnected, not left hanging.
        pusher = await start_publish(f"{rtmp}/{key}", Source(seconds=60))
        await asyncio.sleep(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"node.stopped" in err
    await asyncio.wait_for(pusher.wait(), 10)
    logs = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert logs and all("event" in entry and "level" in entry for entry in logs)
    # Quiet at INFO: a start, a publish, a shutdown is a handful of lines, not one per packet.
    assert len(logs) < 40, [entry["event"] for entry in logs]
    # Embedded PostgreSQL was stopped with the node: no server is left running on its data dir.
    assert not (tmp_path / "data" / "postgres" / "postmaster.pid").exists()


async def test_stream_create_prints_url_and_key(tmp_path):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "stream", "create", "studio-a",
        env=cli_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "rtmp://" in text and re.search(r"Stream key: trb_\S{40,}", text)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "stream", "create", "Bad Name!",
        env=cli_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 1 and b"stream names are" in err


async def test_serve_origin_uses_configured_servers(services, tmp_path):
    """The cluster role against the PostgreSQL and Redis it is given (no embedded servers)."""
    env = cli_env(tmp_path) | {"DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
    create = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "stream", "create", f"origin-{os.getpid()}",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(create.communicate(), 60)
    assert create.returncode == 0, err.decode()
    key = re.search(r"Stream key: (trb_\S+)", out.decode())[1]
    env["TRIBUTARY_RTMP__PORT"] = str(free_port())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "serve", "origin",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        url = f"rtmp://127.0.0.1:{env['TRIBUTARY_RTMP__PORT']}/live/{key}"
        deadline = asyncio.get_running_loop().time() + 60
        while True:  # publish as soon as the role is listening
            code, err_text = await publish(url, Source(seconds=2), timeout=30)
            if code == 0 or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
        assert code == 0, err_text
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert not (tmp_path / "data" / "postgres").exists(), "no embedded server was started"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_serve_edge_in_front_of_an_origin(services, tmp_path):
    """The edge role: no database, no Redis; it proxies the origin and checks the same tokens."""
    async with node_factory(services, tmp_path / "origin") as start:
        origin = await start()
        env = cli_env(tmp_path) | {
            "TRIBUTARY_EDGE__ORIGINS": json.dumps([origin.http]),
            "TRIBUTARY_EDGE__HOST": "127.0.0.1",
            "TRIBUTARY_EDGE__PORT": str(free_port()),
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",  # an edge never connects
        }
        edge = f"http://127.0.0.1:{env['TRIBUTARY_EDGE__PORT']}"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tributary", "serve", "edge",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with aiohttp.ClientSession() as http:
                ready = await poll_status(http, f"{edge}/readyz")
                assert ready == 200
                async with http.get(f"{edge}/live/offline/master.m3u8") as response:
                    assert response.status == 404  # the origin's answer, passed on
                    assert b"is not live" in await response.read()
            # The container health check: the port comes from the same settings.
            assert await probe(env, "edge") == (0, "ready")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert b"edge.started" in err
        code, said = await probe(env, "edge")
        assert code == 1 and f"{edge}/readyz" in said, said

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "serve", "edge",
        env=cli_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2 and b"an edge needs origins" in err


async def probe(env: dict[str, str], role: str) -> tuple[int, str]:
    """``tributary probe ROLE``: its exit status and what it said."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "probe", role,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, (out or err).decode().strip()


async def poll_status(http: aiohttp.ClientSession, url: str, timeout: float = 60) -> int:
    """The first answer ``url`` gives once something listens there."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            async with http.get(url) as response:
                return response.status
        except aiohttp.ClientConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_vod_add_stores_and_transcodes_with_progress(services, tmp_path):
    """An operator adds a file from the command line: progress bars, a ready video, its URL; a
    file that is not a video ends with the transcoder's reason and exit status 1."""
    env = cli_env(tmp_path) | {"DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url}
    clip = tmp_path / "clip.mp4"
    await make_file(clip, Source(seconds=3, realtime=False))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "vod", "add", str(clip), "--title", "From the CLI",
        "--privacy", "public", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode()[-2000:]
    public_id = re.search(r"Video (\S{11}) is ready", out.decode())[1]
    assert f"/vod/{public_id}/master.m3u8" in out.decode()
    assert "storing" in err.decode() and "transcoding: 100%" in err.decode()
    conn = await asyncpg.connect(services.database_url)
    try:
        row = await conn.fetchrow("SELECT status, title, privacy FROM videos WHERE public_id = $1", public_id)
    finally:
        await conn.close()
    assert dict(row) == {"status": "ready", "title": "From the CLI", "privacy": "public"}

    text = tmp_path / "notes.txt"
    text.write_text("not a video\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tributary", "vod", "add", str(text), "--title", "Notes",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 1 and b"failed: " in err and b"text" in err.lower()


async def test_cluster_roles_refuse_to_start_without_the_clusters_servers(tmp_path):
    """An API, worker or chat node alone is useless (and must not start embedded servers of its
    own)."""
    for role in ("api", "worker", "chat"):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tributary", "serve", role,
            env=cli_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 2, err.decode()
        assert f"a {role} node needs the cluster's servers".encode() in err
