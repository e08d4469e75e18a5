"""Encoded H.264/AAC packets → CMAF fMP4 init segment and parts, with PyAV's MP4 muxer.

No re-encode: packets are remuxed as they came. libavformat's movenc cuts a fragment before
any video keyframe (``frag_keyframe``) and once the fragment spans the part duration
(``frag_duration``); each fragment becomes one LL-HLS part. Two details keep timing exact:

* movenc must know the last sample's duration of every fragment, or it guesses and carries the
  guess into the next fragment's decode time (A/V drift). So one packet per track is held back
  until its successor arrives and its duration is known: one frame of latency for exact times.
* ``frag_discont`` + ``avoid_negative_ts=make_non_negative`` make the first fragment's decode
  time (tfdt) the packet's own timeline position instead of zero, so a reconnect continues
  the stream's media time and every rendition of a stream shares one clock.
* no ``cmaf`` movflag: it implies ``negative_cts_offsets``, which shifts a B-frame video track
  by its first composition offset while audio stays put (80 ms of A/V skew at 3 B-frames).

Everything here is CPU work on PyAV objects: it runs on the pipeline's worker thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from io import BytesIO

import av

from packager.fmp4_boxes import Fragment, FragmentReader
from packager.media import AudioConfig, MediaKind, VideoConfig
from packager.timeline import AAC_FRAME_SAMPLES, VIDEO_TIMESCALE

_MAX_INTERLEAVE_US = 300_000
_PRELUDE_FRAMES = 6
_TIMESTAMP_JITTER_S = 0.002


@dataclass(frozen=True, slots=True)
class TimedPacket:
    """A packet on the output timeline, in its track's timescale (90 kHz video, sample rate audio)."""

    kind: MediaKind
    dts: int
    pts: int
    keyframe: bool
    data: bytes


@dataclass(frozen=True, slots=True)
class Part:
    data: bytes
    start: float
    duration: float
    independent: bool


_STANDARD_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)


def snap_frame_duration(measured: float) -> float:
    """Millisecond timestamps make a 30 fps frame look like 33 or 34 ms; snap to the standard
    rate within 3 % so planning uses the true cadence."""
    rate = min(_STANDARD_RATES, key=lambda r: abs(measured * r - 1))
    return 1 / rate if abs(measured * rate - 1) < 0.03 else measured


def plan_part_target(target: float, frame_duration: float) -> float:
    """The part duration actually produced: a whole number of frames, as close to ``target`` as
    possible without going under it by more than a frame (so 29.97 fps gives 6 frames = 0.2002 s)."""
    frames = max(1, math.ceil(target / frame_duration - 0.01))
    return frames * frame_duration


def advertised_part_target(planned: float) -> float:
    """PART-TARGET must bound every part; millisecond timestamps add up to 1 ms of jitter."""
    return math.ceil(round((planned + 0.001) * 1000, 6)) / 1000


def video_dimensions(config: VideoConfig, keyframe: bytes) -> tuple[int, int]:
    """Decode the first keyframe to learn the displayed size (SPS cropping included)."""
    ctx = av.CodecContext.create("h264", "r")
    ctx.extradata = config.avcc
    frames = ctx.decode(av.Packet(keyframe)) + ctx.decode(None)
    if not frames:
        raise ValueError("first keyframe did not decode: bad SPS/PPS or corrupt frame")
    return frames[0].width, frames[0].height


class _Sink:
    """The file object PyAV writes into; the bytes are drained after every mux call."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


class CmafMuxer:
    """One fragmented-MP4 muxer: the tracks of one rendition of one publish session."""

    def __init__(
        self,
        video: VideoConfig | None,
        audio: AudioConfig | None,
        *,
        part_target: float,
        video_size: tuple[int, int] | None = None,
    ) -> None:
        if video is None and audio is None:
            raise ValueError("a rendition needs at least one track")
        self._video_cfg = video
        self._audio_cfg = audio
        self._target = part_target
        self._video_size = video_size
        self._held: dict[MediaKind, TimedPacket] = {}
        self._prelude: list[tuple[TimedPacket, int]] = []
        self._started = False
        self._last_duration: dict[MediaKind, int] = {}
        self._container: av.container.OutputContainer | None = None
        self._streams: dict[MediaKind, av.stream.Stream] = {}
        self._sink = _Sink()
        self._reader = FragmentReader()
        self.part_target: float | None = None
        self.frame_rate: float | None = None

    @property
    def init_segment(self) -> bytes | None:
        return self._reader.init

    def write(self, packet: TimedPacket) -> list[Part]:
        if not self._started:
            # Nothing before the first keyframe is decodable. Judged on arrival: hold-back
            # reorders emission, so the audio just after the keyframe may be emitted before it.
            if self._video_cfg is not None and not (packet.kind == "video" and packet.keyframe):
                return []
            self._started = True
        held = self._held.get(packet.kind)
        self._held[packet.kind] = packet
        if held is None:
            return []
        if packet.dts <= held.dts:
            raise ValueError(f"{packet.kind} decode times must increase ({held.dts} then {packet.dts})")
        duration = packet.dts - held.dts
        self._last_duration[packet.kind] = duration
        return self._mux(held, duration)

    def close(self) -> list[Part]:
        """Flush held packets and the last fragment. The muxer cannot be used afterwards."""
        parts: list[Part] = []
        for kind, held in sorted(self._held.items(), key=lambda item: item[1].dts):
            parts += self._mux(held, self._last_duration.get(kind, self._default_duration(kind)))
        self._held.clear()
        if self._container is None and self._prelude:
            prelude, self._prelude = self._prelude, []
            self._open(prelude)
            for queued, queued_duration in prelude:
                self._mux_now(queued, queued_duration)
        if self._container is not None:
            self._container.close()
            self._container = None
            parts += self._collect()
        return parts

    def _default_duration(self, kind: MediaKind) -> int:
        return AAC_FRAME_SAMPLES if kind == "audio" else VIDEO_TIMESCALE // 30

    def _mux(self, packet: TimedPacket, duration: int) -> list[Part]:
        if self._container is None:
            if not self._buffer_prelude(packet, duration):
                return []
            prelude, self._prelude = self._prelude, []
            self._open(prelude)
            for queued, queued_duration in prelude:
                self._mux_now(queued, queued_duration)
        else:
            self._mux_now(packet, duration)
        return self._collect()

    def _buffer_prelude(self, packet: TimedPacket, duration: int) -> bool:
        """Hold the first frames until the cadence is known; True when the muxer can open.

        The first part needs several frames anyway, so waiting for them costs no latency, and
        the median of their durations survives millisecond rounding (33, 34, 33 ms → 30 fps).
        """
        self._prelude.append((packet, duration))
        if self._video_cfg is None:
            return True
        video = sum(1 for queued, _ in self._prelude if queued.kind == "video")
        return video >= _PRELUDE_FRAMES

    def _mux_now(self, packet: TimedPacket, duration: int) -> None:
        av_packet = av.Packet(packet.data)
        av_packet.stream = self._streams[packet.kind]
        av_packet.time_base = av_packet.stream.time_base
        av_packet.dts = packet.dts
        av_packet.pts = packet.pts
        av_packet.duration = duration
        av_packet.is_keyframe = packet.keyframe
        assert self._container is not None
        self._container.mux_one(av_packet)

    def _open(self, prelude: list[tuple[TimedPacket, int]]) -> None:
        video = [(p, d) for p, d in prelude if p.kind == "video"]
        if video:
            durations = sorted(d for _, d in video)
            frame_seconds = snap_frame_duration(durations[len(durations) // 2] / VIDEO_TIMESCALE)
        else:
            frame_seconds = AAC_FRAME_SAMPLES / self._audio_rate
        planned = plan_part_target(self._target, frame_seconds)
        self.part_target = advertised_part_target(planned)
        if video:
            self.frame_rate = 1 / frame_seconds
        # movenc cuts when *any* track's span reaches frag_duration. The interleaver writes in
        # decode order, so a fragment's first audio sample is never earlier than its first video
        # sample; a threshold just under the planned span (2 ms of timestamp jitter) therefore
        # lets video always reach it first, and audio frames never shorten a part. movenc checks
        # the span before adding each sample, so a part holds the planned frames only while frame
        # durations keep the cadence: one stretched frame stretches its part past PART-TARGET
        # (the timeline re-bases timestamp jumps at the cadence for that reason).
        slack = _TIMESTAMP_JITTER_S if video else frame_seconds / 2
        frag_us = int((planned - slack) * 1_000_000)
        container = av.open(
            self._sink,
            "w",
            format="mp4",
            options={
                "movflags": "empty_moov+default_base_moof+frag_keyframe+frag_discont+skip_trailer",
                "frag_duration": str(max(frag_us, 1)),
                "flush_packets": "1",
                "use_editlist": "0",
                "avoid_negative_ts": "make_non_negative",
                "max_interleave_delta": str(_MAX_INTERLEAVE_US),
            },
        )
        # A throwaway container supplies stream templates; add_stream_from_template gives codec
        # contexts that are never opened, so no encoder runs for a remux.
        templates = av.open(BytesIO(), "w", format="mp4")
        try:
            if self._video_cfg is not None:
                keyframe = video[0][0].data
                width, height = self._video_size or video_dimensions(self._video_cfg, keyframe)
                stream = container.add_stream_from_template(templates.add_stream("libx264"))
                stream.codec_context.extradata = self._video_cfg.avcc
                stream.codec_context.width = width
                stream.codec_context.height = height
                stream.time_base = Fraction(1, VIDEO_TIMESCALE)
                self._video_size = (width, height)
                self._streams["video"] = stream
            if self._audio_cfg is not None:
                rate = self._audio_cfg.sample_rate
                stream = container.add_stream_from_template(templates.add_stream("aac", rate=rate))
                stream.codec_context.extradata = self._audio_cfg.asc
                stream.codec_context.sample_rate = rate
                stream.time_base = Fraction(1, rate)
                self._streams["audio"] = stream
        finally:
            templates.close()
        self._container = container

    @property
    def _audio_rate(self) -> int:
        assert self._audio_cfg is not None
        return self._audio_cfg.sample_rate

    @property
    def video_size(self) -> tuple[int, int] | None:
        return self._video_size

    def _collect(self) -> list[Part]:
        data = self._sink.drain()
        return [self._to_part(f) for f in self._reader.feed(data)] if data else []

    def _to_part(self, fragment: Fragment) -> Part:
        # Track ids follow stream order: video (if any) is 1, audio is the last.
        video_run = fragment.tracks.get(1) if self._video_cfg is not None else None
        if video_run is not None:
            return Part(
                fragment.data,
                video_run.base_decode_time / VIDEO_TIMESCALE,
                video_run.duration / VIDEO_TIMESCALE,
                video_run.starts_with_sync,
            )
        audio_run = next(iter(fragment.tracks.values()))
        rate = self._audio_rate
        return Part(
            fragment.data,
            audio_run.base_decode_time / rate,
            audio_run.duration / rate,
            self._video_cfg is None,
        )
