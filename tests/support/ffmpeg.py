"""Synthetic A/V from the real ffmpeg command line (Debian's ffmpeg): published to an RTMP URL,
or written to a file as a camera or phone would (uploads)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    seconds: float = 6.0
    width: int = 640
    height: int = 360
    fps: int = 30
    gop: int = 60
    bframes: int = 0
    sample_rate: int = 48_000
    audio: bool = True
    video: bool = True
    audio_codec: str = "aac"
    """Any ffmpeg FLV audio encoder: ``libmp3lame`` and ``pcm_mulaw`` make the node transcode."""
    realtime: bool = True

    def args(self, url: str, container: str = "flv") -> list[str]:
        video = (
            ["-f", "lavfi", "-i", f"testsrc2=size={self.width}x{self.height}:rate={self.fps}"]
            if self.video
            else []
        )
        audio = (
            ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={self.sample_rate}"]
            if self.audio
            else []
        )
        x264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-g", str(self.gop), "-keyint_min", str(self.gop), "-sc_threshold", "0",
                "-bf", str(self.bframes)] if self.video else []
        if self.video and self.bframes == 0:
            x264 += ["-tune", "zerolatency"]
        sound = ["-c:a", self.audio_codec, "-ar", str(self.sample_rate)] if self.audio else []
        if self.audio and self.audio_codec in ("aac", "libmp3lame"):
            sound += ["-b:a", "96k"]
        pace = ["-re"] if self.realtime else []
        return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", *pace, *video,
                *pace, *audio, *x264, *sound, "-t", str(self.seconds), "-f", container, url]


async def make_file(path: Path, source: Source, *, rotate: int = 0, faststart: bool = True) -> None:
    """An MP4 file of ``source`` (not paced). ``rotate``: ffmpeg's rotate tag, which it stores
    as a display matrix (when it copies a stream, not when it encodes one: hence a second pass),
    the way phones mark portrait video; players, ffmpeg included, turn the picture upright.
    ``faststart``: the index (moov) before the media, as phones write it, else after it."""
    flags = ["-movflags", "+faststart"] if faststart else []
    encoded = path.with_name(f"encoded-{path.name}") if rotate else path
    args = source.args(str(encoded), "mp4")
    args[-3:-3] = ["-y", *flags]
    await _ffmpeg(args)
    if rotate:
        await _ffmpeg(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(encoded),
                       "-c", "copy", *flags, "-metadata:s:v:0", f"rotate={rotate}", str(path)])
        encoded.unlink()


async def _ffmpeg(args: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode(errors="replace")


async def start_publish(url: str, source: Source = Source()) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *source.args(url), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )


async def publish(url: str, source: Source = Source(), timeout: float = 60) -> tuple[int, str]:
    """Run one publish to the end; returns ffmpeg's exit code and its error output."""
    proc = await start_publish(url, source)
    _, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, err.decode(errors="replace")
