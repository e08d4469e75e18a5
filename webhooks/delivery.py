"""One try of one delivery: the signed POST and what came of it.

The receiver is trusted with nothing: the whole try (connecting, sending, the status line and
headers, a short excerpt of an error's body) is bounded by one timeout; a 2xx answer's body is
never read (closing the connection is cheaper than reading what a receiver might stream), and
only the first bytes of any other answer are kept, for the operator to read in ``last_error``.
Redirects are not followed: a receiver that moved is reported, not chased.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from enum import StrEnum

import aiohttp

from webhooks.outbox import Claim
from webhooks.signatures import SIGNATURE_HEADER, sign

EVENT_HEADER = "Tributary-Event"
DELIVERY_HEADER = "Tributary-Delivery"

_EXCERPT_BYTES = 200
_ERROR_CHARS = 500  # as the column's CHECK


class Result(StrEnum):
    OK = "ok"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    status: int | None
    error: str | None
    """One line for ``last_error``: never the URL, which may hold a token."""
    seconds: float


async def attempt(
    session: aiohttp.ClientSession, url: str, secret: str, claim: Claim, timeout: float
) -> Outcome:
    body = claim.body.encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: claim.event_type,
        DELIVERY_HEADER: str(claim.delivery_id),
        SIGNATURE_HEADER: sign(secret, body, int(time.time())),
    }
    started = time.monotonic()

    def outcome(result: Result, status: int | None, error: str | None) -> Outcome:
        return Outcome(result, status, error, time.monotonic() - started)

    try:
        async with asyncio.timeout(timeout):
            async with session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                if 200 <= resp.status < 300:
                    return outcome(Result.OK, resp.status, None)
                excerpt = await resp.content.read(_EXCERPT_BYTES)
                return outcome(Result.HTTP_ERROR, resp.status, _http_error(resp.status, excerpt))
    except TimeoutError:  # aiohttp's own timeouts are TimeoutErrors too
        return outcome(Result.TIMEOUT, None, f"no answer within {timeout:g} s")
    except (aiohttp.ClientError, OSError) as exc:
        return outcome(Result.CONNECTION_ERROR, None, _describe(exc))


def _http_error(status: int, excerpt: bytes) -> str:
    text = _printable(excerpt.decode("utf-8", errors="replace"))
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


def _describe(exc: BaseException) -> str:
    """The kind of failure and the OS's or parser's words for it; not ``str(exc)``, which for
    some aiohttp errors includes the request URL."""
    detail = ""
    if isinstance(exc, aiohttp.ClientConnectorError):
        cause = exc.os_error  # asyncio's strerror names the address; the errno's words do not
        detail = os.strerror(cause.errno) if cause.errno and cause.errno > 0 else (cause.strerror or "")
    elif isinstance(exc, aiohttp.ClientResponseError):
        detail = exc.message
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        detail = "the receiver closed the connection without answering"
    elif isinstance(exc, OSError):
        detail = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else (exc.strerror or "")
    detail = _printable(detail)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _printable(text: str) -> str:
    flat = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return flat[: _ERROR_CHARS - 40]
