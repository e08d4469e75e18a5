"""FLV audio that is not AAC (MP3, G.711, PCM, ADPCM, Nellymoser) → AAC, once per publish.

The packager takes AAC only, so every rendition can share the publisher's audio. ffmpeg's FLV
output defaults to MP3, and cameras often send G.711; rather than publish those streams silent,
the RTMP session decodes them and encodes AAC (:class:`ingest.aac_encoder.AudioEncoder`) on a
thread of its own, since decoding and encoding are CPU work that must not run on the loop.

The AAC configuration is fixed (48 kHz stereo, whatever comes in), so it is announced as soon
as the publisher's metadata or first audio tag says a transcode is needed: normally before the
first video packet, so the packager's first init segment already has the audio track.

Times: FLV timestamps are whole milliseconds, while MP3 frames last 24 ms and G.711 chunks
arbitrary lengths, so timestamps jitter by a millisecond. Frames are placed back to back
(a continuous sample clock) while the publisher's timestamps stay within
:data:`_RESYNC` of that clock; only a larger disagreement (a gap, a jump) restarts it at the
publisher's time, and the encoder fills or drops as it does for WebRTC audio.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import av
import structlog

from ingest.aac_encoder import AudioEncoder
from ingest.metrics import dropped
from packager.media import MediaPacket

log = structlog.get_logger(__name__)

AAC_BITRATE: Final = 128_000
_RESYNC: Final = 0.05

# FLV SoundFormat → FFmpeg decoder (FLV spec v10.1, E.4.2.1). 10 (AAC) is passed through.
DECODERS: Final = {
    0: "pcm_s16le",  # "platform endian": little-endian on every platform that sends it
    1: "adpcm_swf",
    2: "mp3",
    3: "pcm_s16le",
    4: "nellymoser",
    5: "nellymoser",
    6: "nellymoser",
    7: "pcm_alaw",
    8: "pcm_mulaw",
    14: "mp3",
}
_FLV_RATES: Final = (5512, 11025, 22050, 44100)
_FIXED_RATES: Final = {4: 16000, 5: 8000, 7: 8000, 8: 8000, 14: 8000}
_PCM_8BIT: Final = {0: "pcm_u8", 3: "pcm_u8"}


def transcodable(sound_format: int) -> bool:
    return sound_format in DECODERS


@dataclass(frozen=True, slots=True)
class _Tag:
    header: int
    data: bytes
    timestamp_ms: int
    arrival: float


_STOP = object()


class AudioTranscoder:
    """One publish's audio transcode. ``put`` on the loop; packets come back to ``deliver``."""

    def __init__(self, name: str, deliver: Callable[[list[MediaPacket]], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._deliver = deliver
        self._encoder = AudioEncoder(bitrate=AAC_BITRATE)
        self.config = self._encoder.config
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._decoder: av.AudioCodecContext | None = None
        self._header: int | None = None
        self._expected: float | None = None
        self.decode_errors = 0
        self._thread = threading.Thread(target=self._run, name=f"rtmp-audio-{name}", daemon=True)
        self._thread.start()

    def put(self, header: int, data: bytes, timestamp_ms: int, arrival: float) -> None:
        """``header`` is the tag's first byte (format, rate, size, channels); ``data`` the rest."""
        self._queue.put(_Tag(header, data, timestamp_ms, arrival))

    def close(self) -> None:
        """Stop after what is queued; nothing is delivered once the publish has ended."""
        self._queue.put(_STOP)

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            assert isinstance(item, _Tag)
            try:
                packets = self._transcode(item)
            except (av.error.FFmpegError, ValueError) as exc:
                self.decode_errors += 1
                dropped("rtmp", "decode_error")
                if self.decode_errors == 1:
                    log.warning("rtmp.audio_decode_error", error=str(exc))
                continue
            if packets:
                self._loop.call_soon_threadsafe(self._deliver, packets)

    def _transcode(self, tag: _Tag) -> list[MediaPacket]:
        if self._decoder is None or tag.header != self._header:
            self._decoder = _decoder_for(tag.header)
            self._header = tag.header
        packet = av.Packet(tag.data)
        out: list[MediaPacket] = []
        stamped = tag.timestamp_ms / 1000
        for frame in self._decoder.decode(packet):
            start = self._expected
            if start is None or abs(stamped - start) > _RESYNC:
                start = stamped
            self._expected = start + frame.samples / frame.sample_rate
            out += self._encoder.encode(frame, start, tag.arrival)
            stamped = self._expected  # later frames of the same tag follow the first
        # The encoder's priming frame starts before the first sample: at a publish starting at
        # 0 ms that is before zero, which 32-bit RTMP time cannot say. It decodes to silence.
        return [packet for packet in out if packet.dts_ms >= 0]


def _decoder_for(header: int) -> av.AudioCodecContext:
    """A decoder for the tag's format; the header supplies what raw formats do not carry."""
    sound_format, rate_index = header >> 4, (header >> 2) & 3
    sixteen_bit, stereo = bool(header & 2), bool(header & 1)
    name = DECODERS[sound_format] if sixteen_bit else _PCM_8BIT.get(sound_format, DECODERS[sound_format])
    ctx = av.CodecContext.create(name, "r")
    assert isinstance(ctx, av.AudioCodecContext)
    ctx.sample_rate = _FIXED_RATES.get(sound_format, _FLV_RATES[rate_index])
    ctx.layout = "stereo" if stereo else "mono"
    return ctx
