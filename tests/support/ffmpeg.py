"""Publish synthetic A/V to an RTMP URL with the real ffmpeg command line (Debian's ffmpeg)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


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
    audio_codec: str = "aac"
    """Any ffmpeg FLV audio encoder: ``libmp3lame`` and ``pcm_mulaw`` make the node transcode."""
    realtime: bool = True

    def args(self, url: str) -> list[str]:
        video = ["-f", "lavfi", "-i", f"testsrc2=size={self.width}x{self.height}:rate={self.fps}"]
        audio = (
            ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={self.sample_rate}"]
            if self.audio
            else []
        )
        x264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-g", str(self.gop), "-keyint_min", str(self.gop), "-sc_threshold", "0",
                "-bf", str(self.bframes)]
        if self.bframes == 0:
            x264 += ["-tune", "zerolatency"]
        sound = ["-c:a", self.audio_codec, "-ar", str(self.sample_rate)] if self.audio else []
        if self.audio and self.audio_codec in ("aac", "libmp3lame"):
            sound += ["-b:a", "96k"]
        pace = ["-re"] if self.realtime else []
        return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", *pace, *video,
                *pace, *audio, *x264, *sound, "-t", str(self.seconds), "-f", "flv", url]


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
