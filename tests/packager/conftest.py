"""Synthetic part feeds for live-window tests: the bytes are placeholders, the timing is real."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from packager.live.window import LiveWindow

PART = 0.2
EPOCH = 1_795_000_000.0
"""Wall clock of the first sample, so program-date-times are predictable."""


class SyntheticEncoder:
    """Emits parts the way the packager does: ``part``-second parts, a keyframe every ``gop`` s.

    The GOP is counted in parts (``round(gop / part)``), as an encoder counts frames, so
    ``jitter`` — every part boundary moved by up to ± that many seconds, seeded so runs repeat —
    changes durations but never where keyframes fall. ``gop`` may change between :meth:`run`s.
    """

    def __init__(
        self, window: LiveWindow, *, part: float = PART, gop: float = 2.0, jitter: float = 0.0
    ) -> None:
        self.window = window
        self.part = part
        self.gop = gop
        self.jitter = jitter
        self.media_time = 0.0
        self.count = 0
        self._since_key: int | None = None
        self._random = random.Random(7)
        self._offset = 0.0  # jitter of the current part's start

    def run(self, seconds: float) -> None:
        """Add ``seconds`` of nominal media: ``round(seconds / part)`` parts."""
        for _ in range(round(seconds / self.part)):
            self.add()

    def add(self, *, independent: bool | None = None) -> None:
        if independent is None:
            independent = self._since_key is None or self._since_key >= round(self.gop / self.part)
        self._since_key = 1 if independent else (self._since_key or 0) + 1
        next_offset = self._random.uniform(-self.jitter, self.jitter)
        duration = self.part + next_offset - self._offset
        self._offset = next_offset
        data = f"[{self.count}]".encode().ljust(100, b".")
        self.window.add_part(data, duration, independent, EPOCH + self.media_time)
        self.media_time += duration
        self.count += 1


@pytest.fixture
def make_window() -> Callable[..., LiveWindow]:
    """A window with its first init segment already set (``init_data``, ``part_target``)."""

    def make(
        *, init_data: bytes = b"init-0", part_target: float = PART, **options: object
    ) -> LiveWindow:
        options.setdefault("segment_target", 2.0)
        options.setdefault("window_segments", 6)
        window = LiveWindow(**options)  # type: ignore[arg-type]
        window.set_init(init_data, part_target)
        return window

    return make


@pytest.fixture
def encoder() -> Callable[..., SyntheticEncoder]:
    return SyntheticEncoder


@pytest.fixture
def epoch() -> float:
    return EPOCH
