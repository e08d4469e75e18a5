"""The WHIP ingest's video encode: decoded WebRTC frames → H.264 access units in AVCC form.

WebRTC senders change resolution and frame rate as bandwidth and CPU allow, stamp frames with
capture times that jitter by milliseconds, and send VP8 as often as H.264. The packager wants
one H.264 stream with a fixed decoder configuration, keyframes it can cut segments at, and
frame durations that add up to its part target (a part longer than PART-TARGET breaks the
LL-HLS rules). So:

* every frame is scaled to the first frame's size (capped at 1080p);
* the output has a constant frame rate (``frame_rate``): frames are placed on the slots of a
  :class:`FrameGrid` (repeated into slots the source skipped, dropped when the source is
  faster), so every frame lasts one period and parts are exactly as long as planned;
* libx264 with ``zerolatency`` and no B-frames: one packet out per frame in, at once, decode
  order = presentation order (composition offsets are 0);
* an IDR every ``keyframe_interval`` seconds of slots, forced per frame (``forced-idr``), with
  x264's own keyframe placement off (no scene cuts, a keyint far above the interval);
* a global header, so SPS/PPS come out once as extradata: the ``avcC`` record of
  :class:`VideoConfig` (converted from Annex B with the ladder's helpers, as the rungs are).

CPU work on PyAV objects, run on the session's encode thread only.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Final

import av
from av.codec.context import Flags
from av.video.frame import PictureType
from av.video.reformatter import VideoReformatter

from ingest.metrics import dropped
from ingest.whip.frame_grid import FrameGrid, Slot
from packager.ladder.annexb import avc_decoder_configuration, to_length_prefixed
from packager.media import MediaPacket, VideoConfig

TICKS: Final = 90_000
MAX_SIZE: Final = (1920, 1080)
"""Larger sources are scaled down to fit: one ingest encode per publisher must stay affordable."""
MAX_HOLD: Final = 2.0
"""Seconds of skipped slots filled by repeating the previous frame (a longer stall leaves a gap)."""
_KEYINT_CAP: Final = 1000  # frames; only the forced IDRs place keyframes


def output_size(width: int, height: int) -> tuple[int, int]:
    """The first frame's size, scaled to fit :data:`MAX_SIZE`, in even numbers (4:2:0)."""
    scale = min(1.0, MAX_SIZE[0] / width, MAX_SIZE[1] / height)
    return max(2, int(width * scale) & ~1), max(2, int(height * scale) & ~1)


class VideoEncoder:
    def __init__(
        self,
        width: int,
        height: int,
        *,
        frame_rate: int,
        bitrate: int,
        preset: str,
        keyframe_interval: float,
    ) -> None:
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, TICKS)
        ctx.framerate = Fraction(frame_rate)  # also what x264 derives the H.264 level from
        ctx.gop_size = _KEYINT_CAP
        ctx.max_b_frames = 0
        ctx.bit_rate = bitrate
        ctx.flags |= Flags.global_header
        ctx.options = {
            "preset": preset,
            "tune": "zerolatency",
            "sc_threshold": "0",
            "bframes": "0",
            "forced-idr": "1",
            "maxrate": str(bitrate),
            "bufsize": str(bitrate),
        }
        ctx.open()
        self._ctx = ctx
        self._scaler = VideoReformatter()
        self._keyframe_slots = max(1, round(keyframe_interval * frame_rate))
        self.grid = FrameGrid(frame_rate, max_hold=MAX_HOLD)
        self._previous: av.VideoFrame | None = None
        self._next_keyframe = 0
        self.width, self.height = width, height
        assert ctx.extradata is not None  # SPS/PPS, written at open with a global header
        self.config = VideoConfig(avc_decoder_configuration(bytes(ctx.extradata)))

    def encode(self, frame: av.VideoFrame, time: float, arrival: float) -> list[MediaPacket]:
        """Encode one frame captured at ``time`` (session seconds), after the repeats of the
        previous frame its slot needs; nothing if the grid drops it."""
        slots = self.grid.place(time)
        if not slots:
            dropped("whip", "frame_rate")
            return []
        packets: list[MediaPacket] = []
        *repeats, own = slots
        if self._previous is not None:
            for slot in repeats:
                packets += self._encode_at(self._previous, slot, arrival)
        scaled = self._scaler.reformat(frame, width=self.width, height=self.height, format="yuv420p")
        packets += self._encode_at(scaled, own, arrival)
        self._previous = scaled
        return packets

    def _encode_at(self, frame: av.VideoFrame, slot: Slot, arrival: float) -> list[MediaPacket]:
        frame.pts = round(slot.time * TICKS)
        frame.time_base = self._ctx.time_base
        if slot.index >= self._next_keyframe:
            frame.pict_type = PictureType.I
            self._next_keyframe = slot.index + self._keyframe_slots
        else:
            frame.pict_type = PictureType.NONE
        return [
            MediaPacket(
                "video",
                dts_ms=_ms(packet.dts),
                cts_ms=_ms(packet.pts) - _ms(packet.dts),
                keyframe=packet.is_keyframe,
                data=to_length_prefixed(bytes(packet)),
                received=arrival,
            )
            for packet in self._ctx.encode(frame)
            if packet.dts is not None and packet.pts is not None
        ]


def _ms(ticks: int) -> int:
    return math.floor(ticks * 1000 / TICKS + 0.5)
