"""One rung of the ladder: scale a decoded frame to the rung's size and encode it with libx264.

The settings make every rendition switchable at the same instants as the source:

* a source keyframe forces an IDR (``pict_type = I`` with ``forced-idr``), and the fixed GOP
  (``keyint = keyint_min`` = the source's cadence, ``sc_threshold=0``) adds none of its own
  while the source keeps its cadence, so keyframes, and therefore parts and segments, land on
  the source's keyframe times exactly;
* ``zerolatency`` and no B-frames: one packet out per frame in, so a rung adds one frame's
  encode time of latency and nothing else. Its decode times are the caller's (the source's:
  see ``transcoder``), which no-B-frame output may carry as long as dts <= pts;
* a global header, so the SPS/PPS come out once as extradata (the ``avcC`` record the init
  segment needs) instead of repeated in every keyframe.

A VOD encode (``b_frames`` > 0, :mod:`vod.transcode`) has no latency to keep: it drops
``zerolatency`` for x264's look-ahead and B-frames (better pictures per bit) and takes x264's
own decode times, since reordered output has no caller's decode time to borrow. Keyframes are
still forced by the caller and the GOP still fixed, so renditions stay switchable together.

Everything here is CPU work on PyAV objects, run on the rung's own worker thread.
"""

from __future__ import annotations

from fractions import Fraction

import av
from av.codec.context import Flags
from av.video.frame import PictureType
from av.video.reformatter import VideoReformatter

from packager.cmaf_muxer import TimedPacket
from packager.ladder.annexb import avc_decoder_configuration, to_length_prefixed
from packager.ladder.rungs import Rung
from packager.media import VideoConfig
from packager.timeline import VIDEO_TIMESCALE

DEFAULT_PRESET = "veryfast"
_TIME_BASE = Fraction(1, VIDEO_TIMESCALE)


class RungEncoder:
    """libx264 for one rung, with the one scaler (a reused SwsContext) that feeds it."""

    def __init__(
        self,
        rung: Rung,
        *,
        gop: int,
        frame_rate: float,
        preset: str = DEFAULT_PRESET,
        b_frames: int = 0,
    ) -> None:
        """``b_frames`` 0 is the live encode (module docstring); more is a VOD encode, whose
        :meth:`encode` calls pass ``dts=None``."""
        self.rung = rung
        self._reorders = b_frames > 0
        self._scaler = VideoReformatter()
        ctx = av.CodecContext.create("libx264", "w")
        assert isinstance(ctx, av.VideoCodecContext)
        ctx.width, ctx.height = rung.width, rung.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = _TIME_BASE
        ctx.framerate = Fraction(frame_rate).limit_denominator(1001)
        ctx.gop_size = gop
        ctx.max_b_frames = b_frames
        ctx.bit_rate = rung.bitrate
        ctx.flags |= Flags.global_header
        if self._reorders:
            # A VOD encode waits for nobody: frame threads keep more cores busy than the slice
            # threads PyAV's encoders default to (16-19 % faster on 2 cores, bench/RESULTS.md),
            # which a live rung needs for latency (a frame out as soon as it is in).
            ctx.thread_type = "FRAME"
        ctx.options = {
            "preset": preset,
            **({} if self._reorders else {"tune": "zerolatency"}),
            "sc_threshold": "0",
            "keyint_min": str(gop),
            "bframes": str(b_frames),
            "forced-idr": "1",
            "maxrate": str(rung.maxrate),
            "bufsize": str(rung.bufsize),
        }
        ctx.open()
        self._ctx = ctx
        self._dts: dict[int, int] = {}
        self.config = VideoConfig(avc_decoder_configuration(bytes(ctx.extradata)))

    def encode(
        self, frame: av.VideoFrame, pts: int, dts: int | None, keyframe: bool
    ) -> list[TimedPacket]:
        """Encode one decoded source frame with its timeline times (90 kHz ticks); ``dts`` is
        None for a VOD encode (x264 decides it).

        ``frame`` is shared with the other rungs and is only read.
        """
        if (dts is None) != self._reorders:
            raise ValueError("a decode time is the caller's exactly when there are no B-frames")
        if dts is not None:
            self._dts[pts] = dts
        scaled = self._scaler.reformat(
            frame, width=self.rung.width, height=self.rung.height, format="yuv420p", threads=1
        )
        scaled.pts = pts
        scaled.time_base = _TIME_BASE
        scaled.pict_type = PictureType.I if keyframe else PictureType.NONE
        return self._packets(self._ctx.encode(scaled))

    def flush(self) -> list[TimedPacket]:
        return self._packets(self._ctx.encode(None))

    def _packets(self, packets: list[av.Packet]) -> list[TimedPacket]:
        return [
            TimedPacket(
                "video",
                p.dts if self._reorders else self._dts.pop(p.pts),
                p.pts,
                p.is_keyframe,
                to_length_prefixed(bytes(p)),
            )
            for p in packets
        ]
