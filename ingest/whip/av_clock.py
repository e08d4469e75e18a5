"""One media clock for a WHIP session's audio and video, from two independent RTP clocks.

Hand-written because aiortc hands out decoded frames whose ``pts`` count from each track's own
first frame (the RTP timestamps' random starting points removed), with nothing that relates
one track to the other; no library maps them onto a shared timeline for us.

RTP timestamps are exact *within* a track, so every frame is placed at ``anchor + pts``; only
the two anchors need finding:

1. **Arrival.** A track's first frame anchors it at its arrival wall clock. This is only as
   good as the two receive paths are alike: aiortc holds audio four packets (80 ms) in its
   jitter buffer before decoding, video one frame, and the sender's pipelines differ too, so
   the tracks come out about 80 ms apart (audio late).
2. **Sender reports.** RTCP sender reports pair each track's RTP clock with the sender's one
   NTP wall clock (RFC 3550 6.4.1), which is exactly the relation lip sync needs: once both
   tracks have reported, ``ntp_zero`` (the sender's wall clock at each track's pts 0) gives the
   true offset between the anchors. Audio keeps its anchor (the AAC encode counts samples from
   it, so it cannot move) and video is steered to match, a few milliseconds per frame, so a
   decode time never goes backwards (the encoder's constant-rate grid turns the shift into a
   repeated or dropped frame or two). A track that reports before the other's first frame
   lets that frame be placed right away.

   A sender stamps a report's NTP time when it writes the report; a sender that is busy
   stamps late, which only ever makes ``ntp_zero`` later. So each track uses the smallest of
   its last :data:`REPORT_WINDOW` reports: late stamps are ignored, and the window still
   follows the slow drift between an audio sample clock and the sender's wall clock.

Times are seconds on the session's clock (an epoch chosen by the session). Everything here
runs on the event loop.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final, Literal

import structlog

log = structlog.get_logger(__name__)

Kind = Literal["audio", "video"]

MAX_STEER: Final = 0.003
"""Seconds the video anchor may move per frame while following the sender reports."""
REPORT_WINDOW: Final = 8
"""Sender reports per track the estimate is taken from (browsers send one every 1-5 s)."""
MAX_CORRECTION: Final = 1.0
"""A sender-report offset further than this from the arrival estimate is not believed (a sender
whose NTP clock is not one clock for both tracks); the arrival anchors stay."""


@dataclass(slots=True)
class _Track:
    anchor: float | None = None
    reports: deque[float] = field(default_factory=lambda: deque(maxlen=REPORT_WINDOW))

    @property
    def ntp_zero(self) -> float | None:
        return min(self.reports, default=None)


class SessionClock:
    def __init__(self, epoch: float) -> None:
        self._epoch = epoch
        self._tracks: dict[Kind, _Track] = {"audio": _Track(), "video": _Track()}
        self._video_target: float | None = None
        self._distrusted = False

    def place(self, kind: Kind, pts: float, arrival: float) -> float:
        """Session time of a frame at ``pts`` seconds of its track, which arrived at ``arrival``."""
        track = self._tracks[kind]
        if track.anchor is None:
            track.anchor = self._from_other_track(kind)
            if track.anchor is None:
                track.anchor = arrival - self._epoch - pts
            self._retarget()
        elif kind == "video" and self._video_target is not None:
            step = max(-MAX_STEER, min(MAX_STEER, self._video_target - track.anchor))
            track.anchor += step
        return track.anchor + pts

    def sender_report(self, kind: Kind, ntp_zero: float) -> None:
        """The sender's wall clock (seconds, any epoch) at this track's pts 0."""
        self._tracks[kind].reports.append(ntp_zero)
        self._retarget()

    def wallclock(self, time: float) -> float:
        """The wall-clock time of a session time."""
        return self._epoch + time

    @property
    def av_offset(self) -> float | None:
        """Video anchor minus audio anchor (for diagnostics); None until both tracks started."""
        audio, video = self._tracks["audio"].anchor, self._tracks["video"].anchor
        return None if audio is None or video is None else video - audio

    def _from_other_track(self, kind: Kind) -> float | None:
        other = self._tracks["video" if kind == "audio" else "audio"]
        mine_zero, other_zero = self._tracks[kind].ntp_zero, other.ntp_zero
        if other.anchor is None or other_zero is None or mine_zero is None:
            return None
        return other.anchor + (mine_zero - other_zero)

    def _retarget(self) -> None:
        audio, video = self._tracks["audio"], self._tracks["video"]
        audio_zero, video_zero = audio.ntp_zero, video.ntp_zero
        if self._distrusted or audio.anchor is None or video.anchor is None:
            return
        if audio_zero is None or video_zero is None:
            return
        target = audio.anchor + (video_zero - audio_zero)
        if abs(target - video.anchor) > MAX_CORRECTION:
            self._distrusted = True
            self._video_target = None
            log.warning("whip.sender_reports_ignored", correction=round(target - video.anchor, 3))
            return
        self._video_target = target
