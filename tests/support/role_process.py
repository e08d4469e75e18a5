"""A role as its own process (``python -m tributary serve ROLE``), for tests that
must kill one for real: SIGKILL ends it mid-request, without the clean shutdown an in-process
``stop()`` would do (closing publishers, answering held requests, handing jobs back, saying
goodbye to chat clients), so a test sees what the rest of a cluster sees when a machine dies.

Settings go in through the environment exactly as an operator would set them; ports are 0 and
read back from the node's ``*.started`` log line, so there is no free-port race.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[2]


def with_redis_db(url: str, db: int) -> str:
    """``url`` pointing at Redis database ``db`` instead: the path of a ``redis://`` URL, the
    ``db`` query parameter of a ``unix://`` one (the embedded Redis listens on a socket)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"] + [("db", str(db))]
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{db}"))


def live_env(**live: Any) -> dict[str, str]:
    """``LiveSettings`` keyword arguments (as ``start_node`` takes them) as environment
    variables: ``ladder={"heights": []}`` → ``TRIBUTARY_LIVE__LADDER='{"heights": []}'``."""
    return {
        f"TRIBUTARY_LIVE__{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in live.items()
    }


STARTED = {
    "origin": "node.started", "api": "node.started", "edge": "edge.started",
    "worker": "worker.started", "chat": "chat.started",
}
"""The log event each role writes once it serves (with ``http_port``; origins add ``rtmp_port``)."""


class RoleProcess:
    """One running ``serve ROLE`` child; its JSON log goes to ``log_path``."""

    def __init__(self, role: str, proc: asyncio.subprocess.Process, log_path: Path) -> None:
        self.role = role
        self.proc = proc
        self.log_path = log_path
        self.http = ""
        self.rtmp = ""

    def log_events(self) -> list[dict[str, Any]]:
        """The node's log so far, one dict per JSON line (other lines are skipped)."""
        events = []
        with contextlib.suppress(OSError):
            for line in self.log_path.read_text(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    events.append(json.loads(line))
        return events

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def wait_started(self, timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            started = [e for e in self.log_events() if e.get("event") == STARTED[self.role]]
            if started:
                self.http = f"http://127.0.0.1:{started[0]['http_port']}"
                if started[0].get("rtmp_port"):
                    self.rtmp = f"rtmp://127.0.0.1:{started[0]['rtmp_port']}/live"
                return
            if self.proc.returncode is not None:
                code = self.proc.returncode
                raise RuntimeError(f"the {self.role} exited ({code}):\n{self.log_tail()}")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the {self.role} did not start in {timeout} s:\n{self.log_tail()}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: the machine is gone, nothing is flushed, answered or handed back."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self, grace: float = 30.0) -> None:
        """SIGTERM (a clean shutdown), SIGKILL if it is still there after ``grace``."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except asyncio.TimeoutError:
                self.proc.kill()
        await self.proc.wait()


async def start_role(
    role: str,
    database_url: str,
    redis_url: str,
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    start_timeout: float = 60.0,
) -> RoleProcess:
    """``serve ROLE`` on loopback ports against the given PostgreSQL and Redis, started; the
    caller stops it (see :func:`role_process` for a context that does)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    child_env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("TRIBUTARY_") and k not in ("DATABASE_URL", "REDIS_URL")
    }
    child_env.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRIBUTARY_DATA_DIR": str(data_dir),
        "TRIBUTARY_HTTP__HOST": "127.0.0.1",
        "TRIBUTARY_HTTP__PORT": "0",
        "TRIBUTARY_RTMP__HOST": "127.0.0.1",
        "TRIBUTARY_RTMP__PORT": "0",
        "TRIBUTARY_CHAT__HOST": "127.0.0.1",
        "TRIBUTARY_CHAT__PORT": "0",
        "TRIBUTARY_JOBS__HTTP_HOST": "127.0.0.1",
        "TRIBUTARY_JOBS__HTTP_PORT": "0",
        "TRIBUTARY_EDGE__HOST": "127.0.0.1",
        "TRIBUTARY_EDGE__PORT": "0",
        "TRIBUTARY_LOG_FORMAT": "json",
        "TRIBUTARY_LOG_LEVEL": "INFO",
        **(env or {}),
    })
    log_path = data_dir / f"{role}.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tributary", "serve", role,
            cwd=REPO, env=child_env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
        )
    node = RoleProcess(role, proc, log_path)
    try:
        await node.wait_started(start_timeout)
    except BaseException:
        await node.stop(grace=5)
        raise
    return node


@asynccontextmanager
async def role_process(
    role: str,
    database_url: str,
    redis_url: str,
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    start_timeout: float = 60.0,
) -> AsyncIterator[RoleProcess]:
    """A started ``serve ROLE``, stopped (or reaped, if a test killed it) on the way out."""
    node = await start_role(role, database_url, redis_url, data_dir, env, start_timeout=start_timeout)
    try:
        yield node
    finally:
        await node.stop()
