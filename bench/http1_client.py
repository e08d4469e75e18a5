"""A minimal HTTP/1.1 keep-alive GET client for load generation, on a raw asyncio Protocol.

Hand-written because the generator's CPU per request sets how many viewers one core can
impersonate: aiohttp's client costs ~190 µs a request here, more than the edge it measures
(~140 µs), so the benchmark measured the generator. This one does only what the workload needs
— GET on one persistent connection, one request at a time, ``Content-Length`` or chunked
bodies, gzip decoded on demand — and nothing a general client must (redirects, cookies,
proxies, TLS, pooling, timeouts). It is for ``bench/`` only.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import cast


class HttpError(Exception):
    """The connection broke or the server answered something this client does not speak."""


class Http1Connection(asyncio.Protocol):
    def __init__(self, host: str) -> None:
        self._host = host.encode()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bool, bytes]] | None = None
        self._head: tuple[int, bool, int | None] | None = None  # status, gzip, length (None: chunked)
        self._body = bytearray()

    @classmethod
    async def open(cls, host: str, port: int) -> Http1Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(lambda: cls(f"{host}:{port}"), host, port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(HttpError(f"connection lost: {exc!r}"))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def get(self, target: str) -> tuple[int, bytes]:
        """``(status, body)`` of ``GET target`` (path and query, already encoded); gzip decoded."""
        if self._transport is None or self._waiter is not None:
            raise HttpError("connection closed" if self._transport is None else "request in flight")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(
            b"GET %s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: gzip\r\n\r\n" % (target.encode(), self._host)
        )
        try:
            status, gzipped, body = await self._waiter
        finally:
            self._waiter = None
        return status, zlib.decompress(body, 16 + zlib.MAX_WBITS) if gzipped else body

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while self._parse():
                pass
        except (ValueError, HttpError) as exc:
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_exception(HttpError(str(exc)))
            self.close()

    def _parse(self) -> bool:
        """Consume what the buffer holds; True when more may be parsed at once."""
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return False
            lines = bytes(self._buffer[:end]).split(b"\r\n")
            del self._buffer[: end + 4]
            status = int(lines[0].split(b" ", 2)[1])
            fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
            chunked = fields.get(b"transfer-encoding", b"").lower() == b"chunked"
            length = None if chunked else int(fields.get(b"content-length", b"0"))
            self._head = (status, fields.get(b"content-encoding", b"").lower() == b"gzip", length)
            self._body.clear()
        status, gzipped, length = self._head
        if length is not None:
            if len(self._buffer) < length:
                return False
            self._body += self._buffer[:length]
            del self._buffer[:length]
        elif not self._chunks():
            return False
        self._head = None
        if self._waiter is None or self._waiter.done():
            raise HttpError("a response nobody asked for")
        self._waiter.set_result((status, gzipped, bytes(self._body)))
        return bool(self._buffer)

    def _chunks(self) -> bool:
        """Move complete chunks into the body; True once the last (empty) chunk has arrived."""
        while True:
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0:
                return False
            size = int(bytes(self._buffer[:line_end]).split(b";")[0], 16)
            if len(self._buffer) < line_end + 2 + size + 2:
                return False
            start = line_end + 2
            self._body += self._buffer[start : start + size]
            del self._buffer[: start + size + 2]
            if size == 0:  # no trailers: the workload's servers send none
                return True
