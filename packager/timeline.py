"""Publisher timestamps → one continuous output timeline, shared by audio and video.

RTMP carries 32-bit millisecond timestamps that wrap after ~49.7 days, start at arbitrary
values, and jump when an encoder restarts or a relay splices. Players need decode times that
only move forward at the pace of the media, with audio and video on the same clock. So:

* each track unwraps its own 32-bit values (a signed 32-bit delta from its previous value);
* a jump is a step the wall clock does not explain: backwards, or forwards by much more than
  the time that passed since the previous packet arrived. A jump moves one offset shared by
  both tracks, so A/V sync is preserved across it and the second track sees no jump at all;
* the packet that jumped is placed one cadence step (the track's usual packet spacing) after
  its predecessor, not by the arrival gap: packets arrive in bursts and stalls, and turning
  that jitter into a 1 ms frame followed by a 60 ms one breaks the packager's parts, which
  hold a fixed number of frames (LL-HLS parts may not exceed PART-TARGET). Only an arrival
  gap beyond the jitter allowance is a real pause and is kept;
* video keeps millisecond precision (×90 for the 90 kHz timescale). Audio is re-clocked to
  whole AAC frames (1024 samples) because millisecond timestamps cannot express 21.333 ms
  frames; it resynchronises to the publisher's clock only when the two disagree by more
  than 100 ms — forward by leaving a gap, backward by dropping frames, never by stepping
  back — which keeps drift at zero over hours;
* the output of a later session (a publisher reconnect) starts right after the previous one
  ended, so the stream's media time never goes backwards.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from packager.media import MediaPacket

VIDEO_TIMESCALE = 90_000
AAC_FRAME_SAMPLES = 1024
_WRAP = 1 << 32
_FORWARD_JUMP_SLACK_MS = 2_000
_AUDIO_RESYNC_MS = 100
_ANCHOR_SETTLE_S = 2.0
_CADENCE_STEPS = 5
"""Recent steps a track's cadence is the median of: a dropped frame or a duplicate is outvoted."""


def _signed32(value: int) -> int:
    value %= _WRAP
    return value - _WRAP if value >= _WRAP // 2 else value


@dataclass(slots=True)
class _TrackClock:
    last_raw: int | None = None
    last_unwrapped: int = 0
    last_received: float = 0.0
    last_out_ms: int = 0
    last_offset: int = 0
    """The shared offset this track's previous packet was mapped with."""
    steps: deque[int] = field(default_factory=lambda: deque(maxlen=_CADENCE_STEPS))


class Timeline:
    """Maps one publish session's packets to output times. Not thread-safe: one owner."""

    def __init__(self, start_ms: int, audio_sample_rate: int | None) -> None:
        self._start_ms = start_ms
        self._offset: int | None = None
        self._video = _TrackClock()
        self._audio = _TrackClock()
        self._audio_rate = audio_sample_rate
        self._audio_next: int | None = None
        self._anchor: float | None = None
        self._anchor_since: float = 0.0
        self.jumps = 0
        self.dropped_audio = 0

    def audio_configured(self, sample_rate: int) -> None:
        """The publisher (re)configured audio mid-session: a first AAC sequence header after
        video had started, or another sample rate. Audio restarts at the next frame's time."""
        if sample_rate != self._audio_rate:
            self._audio_rate = sample_rate
            self._audio_next = None

    def video(self, packet: MediaPacket) -> tuple[int, int]:
        """``(dts, pts)`` in 90 kHz ticks."""
        dts_ms = self._map(self._video, packet)
        self._update_anchor(packet.received, dts_ms / 1000)
        return dts_ms * 90, (dts_ms + packet.cts_ms) * 90

    def audio(self, packet: MediaPacket) -> int | None:
        """dts in samples at the AudioSpecificConfig's rate, or None: drop this frame.

        Audio that falls behind the publisher's clock (frames were lost) jumps ahead and leaves
        a gap. Audio that runs ahead of it (the publisher's audio clock slipped, as at every
        ``ffmpeg -stream_loop`` seam) cannot go back without breaking decode order, so frames
        are dropped until it is back in sync.
        """
        assert self._audio_rate is not None
        dts_ms = self._map(self._audio, packet)
        self._update_anchor(packet.received, dts_ms / 1000)
        exact = dts_ms * self._audio_rate // 1000
        budget = _AUDIO_RESYNC_MS * self._audio_rate // 1000
        if self._audio_next is None or exact - self._audio_next > budget:
            self._audio_next = exact
        elif self._audio_next - exact > budget:
            self.dropped_audio += 1
            return None
        dts = self._audio_next
        self._audio_next += AAC_FRAME_SAMPLES
        return dts

    def wallclock(self, media_seconds: float) -> float:
        """Ingest wall-clock time at which this media time arrived (for PROGRAM-DATE-TIME)."""
        assert self._anchor is not None
        return self._anchor + media_seconds

    @property
    def end_ms(self) -> int:
        return max(self._video.last_out_ms, self._audio.last_out_ms)

    def _map(self, clock: _TrackClock, packet: MediaPacket) -> int:
        raw = packet.dts_ms % _WRAP
        first = clock.last_raw is None
        if first:
            unwrapped = raw
            if self._offset is None:
                self._offset = self._start_ms - unwrapped
        else:
            unwrapped = clock.last_unwrapped + _signed32(raw - clock.last_raw)
        assert self._offset is not None
        out = unwrapped + self._offset
        if not first:
            # Judged on the output clock, so a jump the other track already repaired (the shared
            # offset moved) is not repaired twice. A small step back left over from that repair
            # (its cadence fell a little short of the step the publisher really took) is clamped
            # below instead: moving the offset again would stretch the other track's next frame.
            step = out - clock.last_out_ms
            waited_ms = (packet.received - clock.last_received) * 1000
            repaired = self._offset != clock.last_offset
            if (step < 0 and not repaired) or step > waited_ms + _FORWARD_JUMP_SLACK_MS:
                wanted = clock.last_out_ms + self._rebase_step(clock, waited_ms)
                self._offset += wanted - out
                out = wanted
                self.jumps += 1
            out = max(out, clock.last_out_ms + 1)  # MP4 needs strictly increasing decode times
            clock.steps.append(out - clock.last_out_ms)
        clock.last_raw = raw
        clock.last_unwrapped = unwrapped
        clock.last_received = packet.received
        clock.last_out_ms = out
        clock.last_offset = self._offset
        return out

    @staticmethod
    def _rebase_step(clock: _TrackClock, waited_ms: float) -> int:
        """Output milliseconds between a track's last packet and the one whose timestamp jumped.

        The track's cadence, however the two packets happened to arrive: arrival gaps shrink in
        bursts and grow in stalls by up to ``_FORWARD_JUMP_SLACK_MS`` (the allowance jump
        detection gives them), so a gap within that of the cadence says nothing about media time.
        A longer one is a real pause and is kept, so media time keeps up with the wall clock
        (program-date-time). A track with no step yet has no cadence: its arrival gap is all
        there is to go by.
        """
        if clock.steps:
            cadence = statistics.median_low(clock.steps)
            if waited_ms <= cadence + _FORWARD_JUMP_SLACK_MS:
                return cadence
        return max(1, int(waited_ms))

    def _update_anchor(self, received: float, media_seconds: float) -> None:
        """Anchor = earliest arrival consistent with the media clock, settled in the first seconds.

        A publisher often flushes a burst of buffered frames on connect; taking the minimum of
        ``received - media`` over the first seconds finds the packets that arrived on time.
        """
        candidate = received - media_seconds
        if self._anchor is None:
            self._anchor = candidate
            self._anchor_since = received
        elif received - self._anchor_since < _ANCHOR_SETTLE_S and candidate < self._anchor:
            self._anchor = candidate
