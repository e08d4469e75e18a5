"""What the multivariant playlist says about one rendition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class VariantInfo:
    """One ``EXT-X-STREAM-INF`` entry.

    ``name`` is the rendition's path component (``{name}/index.m3u8``). ``codecs`` are RFC 6381
    strings (``("avc1.64001f", "mp4a.40.2")``) and must cover every format in the rendition.
    ``bandwidth`` is the peak segment bit rate and ``average_bandwidth`` the mean, both in bits
    per second (:attr:`LiveWindow.peak_bitrate` / :attr:`LiveWindow.average_bitrate` measure
    them). ``width``/``height`` are omitted for audio-only renditions.
    """

    name: str
    codecs: tuple[str, ...]
    bandwidth: int
    average_bandwidth: int | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
