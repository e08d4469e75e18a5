"""The parent's side of the transcode's child process (:mod:`vod.transcode.child`): start it, read
its messages, pass its logs on, and make sure it never outlives its job.

``async with TranscodeChild(...)`` owns the process: leaving the block in any way (the job done,
failed, or cancelled by its timeout) kills the child if it still runs and waits for it, and
the task reading its stderr ends with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType

import structlog
from pydantic import ValidationError

from vod.transcode.protocol import MESSAGE, Message

log = structlog.get_logger(__name__)

_LINE_LIMIT = 64 * 1024 * 1024
"""The final message lists every segment of every rendition: hours of video make megabytes."""
_TAIL_LINES = 20
_PASSED_ON = ("timestamp", "logger", "level", "event")


class ChildFailed(Exception):
    """The child stopped without a result (crashed, killed, or wrote something unreadable)."""

    def __init__(self, message: str, stderr_tail: list[str]) -> None:
        super().__init__(message)
        self.stderr_tail = stderr_tail


class TranscodeChild:
    def __init__(self, request_path: Path, *, video: str) -> None:
        self._request_path = request_path
        self._video = video
        self._process: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._tail: deque[str] = deque(maxlen=_TAIL_LINES)

    async def __aenter__(self) -> TranscodeChild:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "vod.transcode.child",
            str(self._request_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_LINE_LIMIT,
        )
        self._stderr_task = asyncio.create_task(
            self._pass_logs_on(), name=f"transcode-log-{self._video}"
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._process is not None and self._stderr_task is not None
        if self._process.returncode is None:
            self._process.kill()
            log.info("transcode.child_killed", video=self._video, pid=self._process.pid)
        await self._process.wait()
        await self._stderr_task

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def messages(self) -> AsyncIterator[Message]:
        """The child's messages until it exits; :class:`ChildFailed` if it exits badly."""
        assert self._process is not None and self._process.stdout is not None
        assert self._stderr_task is not None
        while line := await self._process.stdout.readline():
            try:
                yield MESSAGE.validate_json(line)
            except ValidationError:
                raise ChildFailed(f"unreadable message {line[:200]!r}", list(self._tail)) from None
        code = await self._process.wait()
        await self._stderr_task  # the tail is complete once stderr ends
        if code != 0:
            raise ChildFailed(f"the transcoder exited with status {code}", list(self._tail))

    async def _pass_logs_on(self) -> None:
        """Each of the child's log records becomes one of ours (with the video's id); anything
        else it writes (a traceback) is kept for :class:`ChildFailed`."""
        assert self._process is not None and self._process.stderr is not None
        while raw := await self._process.stderr.readline():
            line = raw.decode(errors="replace").rstrip()
            self._tail.append(line)
            try:
                record = json.loads(line)
                level = logging.getLevelName(str(record["level"]).upper())
                event = str(record["event"])
            except (ValueError, KeyError, TypeError):
                continue
            if not isinstance(level, int):
                level = logging.INFO
            fields = {k: v for k, v in record.items() if k not in _PASSED_ON}
            log.log(level, event, video=self._video, **fields)
