"""The node's WHIP sessions: admission (capacity, offer, key), lookup, and shutdown.

Like the RTMP server, this knows nothing about keys or streams beyond one callback,
``open_publish(key, stream)``, which the node implements (the catalog says whose key it is,
the packager and the cluster lease enforce one publisher per stream). HTTP lives in
:mod:`ingest.whip.routes`; this module speaks in :class:`WhipError` (status, sentence, headers).

Every session and every admission in flight is owned here: :meth:`close` waits for admissions
to finish, then ends every session, so node shutdown leaves no peer connection, thread or task.
An admission runs in its own task, so a client that hangs up mid-POST (aiohttp cancels the
handler) cannot leave a half-opened publish behind: the session is created anyway and its
no-media watchdog ends it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

import structlog

from ingest.publishing import PublishRejected
from ingest.whip.offer import Offer, OfferRejected, parse_offer
from ingest.whip.session import WhipSession
from packager.media import LiveInput
from tributary.settings import WhipSettings

log = structlog.get_logger(__name__)

OpenWhipPublish = Callable[[str, str | None], Awaitable[LiveInput]]
"""``open_publish(stream_key, stream_name or None)`` → the sink, or raises PublishRejected. With a
stream name, a key of another stream is refused like an unknown one."""


RETRY_AFTER_FULL = "10"


class WhipError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class WhipServer:
    def __init__(self, open_publish: OpenWhipPublish, settings: WhipSettings) -> None:
        self._open_publish = open_publish
        self._settings = settings
        self._sessions: dict[str, WhipSession] = {}
        self._admissions: set[asyncio.Task[tuple[WhipSession, str]]] = set()
        self._closed = False

    @property
    def settings(self) -> WhipSettings:
        return self._settings

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def session(self, session_id: str) -> WhipSession | None:
        return self._sessions.get(session_id)

    async def publish(self, key: str, stream: str | None, body: bytes, peer: str) -> tuple[WhipSession, str]:
        """Admit a publisher: the session (started) and the SDP answer; raises :class:`WhipError`."""
        if self._closed:
            raise WhipError(503, "the node is shutting down")
        if len(self._sessions) + len(self._admissions) >= self._settings.max_sessions:
            raise WhipError(
                503, "this node has as many WHIP publishers as it takes", {"Retry-After": RETRY_AFTER_FULL}
            )
        try:
            offer = parse_offer(body)
        except OfferRejected as exc:
            raise WhipError(exc.status, exc.message) from None
        task = asyncio.get_running_loop().create_task(self._admit(key, stream, offer, peer))
        self._admissions.add(task)
        task.add_done_callback(self._admission_done)
        return await asyncio.shield(task)

    def _admission_done(self, task: asyncio.Task[tuple[WhipSession, str]]) -> None:
        self._admissions.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: its client may have hung up and never awaited it

    async def _admit(self, key: str, stream: str | None, offer: Offer, peer: str) -> tuple[WhipSession, str]:
        try:
            live_input = await self._open_publish(key, stream)
        except PublishRejected as exc:
            if exc.busy:
                raise WhipError(409, exc.description) from None
            raise WhipError(401, exc.description, {"WWW-Authenticate": "Bearer"}) from None
        session = WhipSession(
            offer, live_input, self._settings, key_digest=key_digest(key), peer=peer, on_end=self._ended
        )
        try:
            answer = await session.negotiate()
        except Exception as exc:  # noqa: BLE001 - aiortc raises many types for offers it cannot use
            await session.close("negotiation failed")
            raise WhipError(400, f"the offer could not be negotiated: {exc}") from None
        self._sessions[session.id] = session
        session.start()
        return session, answer

    def _ended(self, session: WhipSession) -> None:
        self._sessions.pop(session.id, None)

    async def close(self) -> None:
        """Refuse new publishers, let admissions finish, end every session and wait for them."""
        self._closed = True
        if self._admissions:
            await asyncio.gather(*self._admissions, return_exceptions=True)
        sessions = list(self._sessions.values())
        await asyncio.gather(*(s.close("node stopping") for s in sessions), return_exceptions=True)
