"""nginx as the peer of a Tributary edge: Debian's nginx as an LL-HLS caching proxy, configured
the way its documentation suggests for request collapsing.

- ``proxy_cache`` in a zone on tmpfs when there is one (the edge caches in memory), keyed by
  the path plus the three Delivery Directives, so identical blocking reloads share an entry;
- ``proxy_cache_lock on``: one request per key goes to the origin, the others wait for it.
  ``proxy_cache_lock_timeout`` and ``proxy_cache_lock_age`` (10 s) outlast the origin's
  longest hold (3 target durations, 6 s), so a waiting viewer is never sent to the origin;
- freshness from the origin's Cache-Control (no ``proxy_cache_valid``: nginx's default);
- HTTP/1.1 keep-alive to the origin, ``worker_processes 1`` pinned to the given core,
  ``sendfile`` and ``tcp_nopush`` on as in Debian's own nginx.conf. The viewers'
  ``Accept-Encoding: gzip`` goes through to the origin, so nginx keeps and serves the origin's
  compressed playlists (the edge compresses each playlist once itself).

Known nginx behaviour that shapes the figures: requests waiting on ``proxy_cache_lock`` are not
woken when the fetch lands; each re-checks the cache on a timer of at most 500 ms
(``ngx_http_file_cache_lock`` arms ``wait_event`` with ``min(500 ms, lock timeout left)``,
because the fetching request may live in another worker process). Requests that collapse onto
a blocking fetch therefore get their answer up to half a second after it arrived.

Fetches from the origin are counted from an access log written only for requests that went
upstream (``if=$upstream_addr``), so the count costs nothing on cache hits.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from bench import harness as h

CONFIG = """\
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy_temp;
    fastcgi_temp_path {work}/fastcgi_temp;
    uwsgi_temp_path {work}/uwsgi_temp;
    scgi_temp_path {work}/scgi_temp;
    keepalive_requests 100000;
    sendfile on;
    tcp_nopush on;
    log_format upstream '$msec $upstream_cache_status $status $request_uri';
    proxy_cache_path {cache} levels=1:2 keys_zone=llhls:16m max_size=1g inactive=60s use_temp_path=off;
    upstream origin {{
        server {origin};
        keepalive 64;
    }}
    server {{
        listen {host}:{port} backlog=4096;
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache llhls;
            proxy_cache_key "$uri|$arg__HLS_msn|$arg__HLS_part|$arg__HLS_skip";
            proxy_cache_lock on;
            proxy_cache_lock_timeout 10s;
            proxy_cache_lock_age 10s;
            proxy_read_timeout 15s;
            access_log {work}/upstream.log upstream if=$upstream_addr;
        }}
    }}
}}
"""


def ensure_nginx() -> str:
    """Debian's nginx (``nginx-light``: proxy and cache, few other modules), installed when
    missing. Only this benchmark's own foreground instance ever runs."""
    return h.ensure_tool("nginx", "nginx-light")


def nginx_version(binary: str) -> str:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    return out.stderr.strip().removeprefix("nginx version: ")


class NginxPeer:
    """One foreground nginx (master + one worker) on ``core``, proxying to ``origin``."""

    name = "nginx"

    def __init__(self, binary: str, origin: str, workdir: Path, core: int) -> None:
        self.workdir = workdir
        self.port = h.free_port()
        self.url = f"http://{h.LOOPBACK}:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        shm = Path("/dev/shm")
        self._cache = Path(tempfile.mkdtemp(prefix="tributary-bench-nginx-",
                                            dir=shm if shm.is_dir() else workdir))
        self.upstream_log = workdir / "upstream.log"
        config = workdir / "nginx.conf"
        config.write_text(CONFIG.format(work=workdir, cache=self._cache, host=h.LOOPBACK,
                                        port=self.port, origin=origin.removeprefix("http://")))
        self._stderr = (workdir / "stderr.log").open("wb")
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(core), binary, "-p", str(workdir), "-c", str(config)],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.proc.pid)

    async def wait_ready(self, http: aiohttp.ClientSession, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited ({self.proc.returncode}): {self.problems()}")
            try:
                async with http.get(f"{self.url}/live/none/master.m3u8") as resp:
                    if resp.status == 404:
                        return
            except (OSError, aiohttp.ClientError, asyncio.TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"nginx not ready after {timeout} s: {self.problems()}")
            await asyncio.sleep(0.1)

    def processes(self) -> list[psutil.Process]:
        """The master and its worker."""
        return [self.ps, *self.ps.children()]

    def cpu_seconds(self) -> float:
        """user + system time of the master and its worker."""
        return sum(h.process_cpu_seconds(p) for p in self.processes())

    async def origin_fetches(self) -> float:
        """Requests nginx has sent to the origin so far (lines of the upstream-only log)."""
        try:
            with self.upstream_log.open("rb") as log:
                return float(sum(1 for _ in log))
        except FileNotFoundError:
            return 0.0

    def problems(self) -> list[str]:
        """nginx's own warnings and errors (its error log), for the report."""
        lines: list[str] = []
        for path in (self.workdir / "error.log", self.workdir / "stderr.log"):
            if path.is_file():
                lines += [line[:400] for line in path.read_text(errors="replace").splitlines()
                          if line.strip()]
        return lines

    def stop(self) -> None:
        h.terminate(self.proc)  # SIGTERM: nginx's fast shutdown, workers included
        self._stderr.close()
        shutil.rmtree(self._cache, ignore_errors=True)
