"""The real command line, as a newcomer runs it: embedded PostgreSQL and Redis, no URLs."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

from tests.support.ffmpeg import Source, publish

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
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"node.stopped" in err
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
