"""For upload tests: nodes with upload settings, tus requests by hand, tuspy (the real Python
client) in a worker thread, files to upload, and what a node holds for an upload."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from tusclient.client import TusClient
from tusclient.uploader import Uploader

from tests.support.api_client import Account, Answer
from tests.support.nodes import RunningNode, test_settings
from tributary.node import Node
from tributary.settings import HttpSettings, StorageSettings, UploadSettings

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {**TUS, "Content-Type": "application/offset+octet-stream"}
MIB = 1024 * 1024


@asynccontextmanager
async def upload_node(
    services: Any,
    data_dir: Path,
    *,
    port: int = 0,
    storage: StorageSettings | None = None,
    **uploads: Any,
) -> AsyncIterator[RunningNode]:
    """A node whose upload settings are ``uploads``, without a job worker (finished uploads stay
    ``processing``); ``port`` pins its HTTP port, so a node started again on the same data
    directory answers the same upload URLs."""
    settings = test_settings(services, data_dir).model_copy(update={
        "http": HttpSettings(host="127.0.0.1", port=port),
        "uploads": UploadSettings(**uploads),
        "storage": storage or StorageSettings(),
    })
    node = Node(settings, worker=False)  # uploads stay `processing`: no transcode runs here
    await node.start()
    try:
        yield RunningNode(node)
    finally:
        await node.stop()


def metadata_header(pairs: Mapping[str, str]) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in pairs.items())


async def tus(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    account: Account | None = None,
    headers: Mapping[str, str] | None = None,
    data: Any = None,
) -> Answer:
    """One request by hand, tus version header included unless ``headers`` overrides it."""
    sent = {**TUS, **(account.auth if account else {}), **(headers or {})}
    async with session.request(method, url, headers=sent, data=data) as response:
        raw = await response.read()
        body = await response.json() if raw and response.content_type == "application/json" else raw
        return Answer(response.status, body, dict(response.headers))


async def create(
    session: aiohttp.ClientSession,
    node: RunningNode,
    account: Account,
    length: int,
    *,
    title: str = "An upload",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> Answer:
    sent = {"Upload-Length": str(length), "Upload-Metadata": metadata_header({"title": title}), **(headers or {})}
    if data is not None:
        sent.setdefault("Content-Type", "application/offset+octet-stream")
    return await tus(session, "POST", f"{node.api}/uploads", account=account, headers=sent, data=data)


async def patch(
    session: aiohttp.ClientSession,
    url: str,
    account: Account,
    offset: int,
    data: Any,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    sent = {**OCTETS, "Upload-Offset": str(offset), **(headers or {})}
    return await tus(session, "PATCH", url, account=account, headers=sent, data=data)


class RawRequest:
    """A request written by hand on its own connection: bodies sent slowly, cut short, or malformed."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, node: RunningNode, method: str, url: str, headers: dict[str, str]) -> RawRequest:
        reader, writer = await asyncio.open_connection("127.0.0.1", node.node.endpoints.http_port)
        lines = [f"{method} {urlsplit(url).path} HTTP/1.1", "Host: 127.0.0.1",
                 *(f"{name}: {value}" for name, value in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, timeout: float = 10) -> tuple[int, dict[str, str], Any]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *header_lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines if line)
        body = await self.reader.readexactly(int(headers.get("Content-Length", "0")))
        return int(status_line.split(" ")[1]), headers, json.loads(body) if body else None

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


async def video_file(path: Path, seconds: float = 2.0) -> Path:
    """A real MP4 (H.264 + AAC) made by ffmpeg, as a creator would upload one."""
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-movflags", "+faststart", str(path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, errors.decode(errors="replace")
    return path


def tuspy(node: RunningNode, account: Account, path: Path, *, url: str | None = None,
          chunk_size: int = 256 * 1024, title: str = "Uploaded with tuspy", **options: Any) -> Uploader:
    """tuspy's blocking uploader (``requests``): make and drive it in a worker thread, never on
    the event loop the node runs on. With ``url`` it resumes that upload (a HEAD first)."""
    client = TusClient(f"{node.api}/uploads", headers=account.auth)
    metadata = {"title": title, "filename": path.name, "filetype": "video/mp4"}
    return client.uploader(file_path=str(path), url=url, chunk_size=chunk_size, metadata=metadata, **options)


def upload_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def open_staged_files(node: RunningNode) -> list[str]:
    """Files under the node's staging directory this process holds open."""
    assert node.node.uploads is not None
    root = str(node.node.uploads.staging.root)
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(root):
            found.append(target)
    return found


def upload_tasks() -> list[asyncio.Task[Any]]:
    """Transfers and hand-overs still running (the sweeper runs as long as its node)."""
    return [task for task in asyncio.all_tasks()
            if task.get_name().startswith(("upload-transfer-", "upload-hand-over-"))]


async def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``condition()`` (a plain or an async function) until it returns something true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
