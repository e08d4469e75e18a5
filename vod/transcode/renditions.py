"""The renditions of a transcode: each encodes what it is given, muxes it to CMAF with the live
packager's muxer and cuts segments (:class:`~vod.transcode.segments.SegmentWriter`).

* Video: the live ladder's :class:`~packager.ladder.encoder.RungEncoder` in its VOD mode
  (look-ahead, B-frames), its one reused scaler included. Every rendition gets the same upright
  frames with the same times and the same keyframe decisions, so segment boundaries, and
  therefore switching points, match exactly across renditions.
* Audio: AAC-LC in a rendition of its own (the HLS audio group every video rendition plays
  with). libswresample converts rate, layout and sample format and, driven by the source's
  timestamps (``async``), fills gaps with silence and trims overlaps, so the sample count stays
  on the picture's clock.

Timestamps: 90 kHz for video, the sample rate for audio, both from
:data:`~vod.transcode.plan.TIMELINE_START` (plan module) on the source's clock.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Final

import av
from av.audio.resampler import AudioResampler

from packager.cmaf_muxer import CmafMuxer, TimedPacket
from packager.ladder.encoder import RungEncoder
from packager.media import AudioConfig
from packager.timeline import VIDEO_TIMESCALE
from vod.transcode.plan import TIMELINE_START, AudioPlan, PlannedRendition, TranscodePlan
from vod.transcode.protocol import RenditionResult
from vod.transcode.segments import Announce, SegmentWriter

AUDIO_NAME: Final = "audio"
_AAC_LC: Final = 2
_ASYNC_RESAMPLING: Final = {"async": "1"}
"""aresample's timestamp following: gaps over 0.1 s become silence, overlaps are dropped, and
smaller drift is absorbed at up to one sample per second."""


def video_ticks(seconds: float) -> int:
    """Output timeline position of a time ``seconds`` after the source's start."""
    return round((seconds + TIMELINE_START) * VIDEO_TIMESCALE)


class VideoRendition:
    def __init__(
        self, planned: PlannedRendition, plan: TranscodePlan, directory: Path, announce: Announce
    ) -> None:
        rung = planned.rung
        self.name = planned.name
        self._rung = rung
        self._frame_rate = plan.frame_rate
        self._encoder = RungEncoder(
            rung, gop=plan.gop, frame_rate=plan.frame_rate, preset=plan.preset, b_frames=plan.b_frames
        )
        self._muxer = CmafMuxer(
            self._encoder.config,
            None,
            part_target=plan.segment_duration,
            video_size=(rung.width, rung.height),
        )
        self._segments = SegmentWriter(directory / planned.name, announce)

    def encode(self, frame: av.VideoFrame, seconds: float, keyframe: bool) -> None:
        """An upright frame ``seconds`` after the source's start (read only: shared)."""
        self._mux(self._encoder.encode(frame, video_ticks(seconds), None, keyframe))

    def finish(self) -> RenditionResult:
        self._mux(self._encoder.flush())
        self._segments.add(self._muxer.close(), self._muxer.init_segment)
        self._segments.close()
        return RenditionResult(
            name=self.name,
            kind="video",
            codecs=self._encoder.config.codec_string,
            width=self._rung.width,
            height=self._rung.height,
            frame_rate=self._frame_rate,
            segments=self._segments.segments,
        )

    def _mux(self, packets: list[TimedPacket]) -> None:
        for packet in packets:
            self._segments.add(self._muxer.write(packet), self._muxer.init_segment)


class AudioRendition:
    def __init__(
        self, plan: AudioPlan, segment_duration: float, directory: Path, announce: Announce
    ) -> None:
        layout = "mono" if plan.channels == 1 else "stereo"
        encoder = av.CodecContext.create("aac", "w")
        assert isinstance(encoder, av.AudioCodecContext)
        encoder.sample_rate = plan.sample_rate
        encoder.layout = layout
        encoder.format = "fltp"
        encoder.bit_rate = plan.bitrate
        encoder.time_base = Fraction(1, plan.sample_rate)
        encoder.open()
        assert encoder.extradata is not None  # the AudioSpecificConfig, written at open
        self._encoder = encoder
        self._channels = plan.channels
        self._resampler = AudioResampler(
            format="fltp",
            layout=layout,
            rate=plan.sample_rate,
            frame_size=encoder.frame_size,
            options=_ASYNC_RESAMPLING,
        )
        self._config = AudioConfig(bytes(encoder.extradata), plan.sample_rate, plan.channels, _AAC_LC)
        self._muxer = CmafMuxer(None, self._config, part_target=segment_duration)
        self._segments = SegmentWriter(directory / AUDIO_NAME, announce)

    def encode(self, frame: av.AudioFrame, seconds: float) -> None:
        """A decoded source frame whose first sample is ``seconds`` after the source's start."""
        rate = frame.sample_rate
        frame.pts = round((seconds + TIMELINE_START) * rate)
        frame.time_base = Fraction(1, rate)
        for converted in self._resampler.resample(frame):
            self._encode(converted)

    def finish(self) -> RenditionResult:
        for converted in self._resampler.resample(None):
            self._encode(converted)
        self._encode(None)
        self._segments.add(self._muxer.close(), self._muxer.init_segment)
        self._segments.close()
        return RenditionResult(
            name=AUDIO_NAME,
            kind="audio",
            codecs=self._config.codec_string,
            channels=self._channels,
            segments=self._segments.segments,
        )

    def _encode(self, frame: av.AudioFrame | None) -> None:
        for packet in self._encoder.encode(frame):
            assert packet.pts is not None
            timed = TimedPacket("audio", packet.pts, packet.pts, True, bytes(packet))
            self._segments.add(self._muxer.write(timed), self._muxer.init_segment)
