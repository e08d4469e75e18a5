"""A finished transcode becomes a ready video: its playlists and storyboard track go to storage
beside the media the child made, then one catalog transaction attaches it all and turns the
video ready (:class:`catalog.transcodes.Transcodes`).

Storage layout of one video (``{prefix}`` is :func:`vod.transcode.pipeline.output_prefix`)::

    {prefix}/master.m3u8                           multivariant: video variants + audio group
    {prefix}/{720p,…}/index.m3u8, init0.mp4, seg{N}.m4s   video renditions (no sound)
    {prefix}/audio/index.m3u8, init0.mp4, seg{N}.m4s      the AAC rendition they play with
    {prefix}/poster.jpg, thumbnail{N}.jpg, storyboard{N}.jpg
    {prefix}/storyboard.vtt

The same names and playlists as a recording's (:mod:`vod.recording.playlists`), so the origin's
VOD routes and the edges serve both alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from catalog.transcodes import Picture, TranscodedRendition, TranscodedVideo, Transcodes
from catalog.videos import Video
from origin.url_scheme import STORYBOARD_NAME, thumbnail_name
from packager.live.hls_rules import segment_bit_rates
from packager.live.names import MEDIA_PLAYLIST_NAME
from packager.live.window import VariantInfo
from vod.recording.playlists import render_vod_multivariant_playlist, render_vod_playlist
from vod.storage import Storage
from vod.transcode.probe import SourceInfo
from vod.transcode.protocol import RenditionResult, TranscodeResult
from vod.transcode.storyboard import render_storyboard_vtt

MULTIVARIANT_NAME = "master.m3u8"


async def publish_transcode(
    storage: Storage,
    transcodes: Transcodes,
    *,
    video_id: int,
    prefix: str,
    source: SourceInfo,
    result: TranscodeResult,
) -> Video | None:
    """Store the playlists and the storyboard track, then make the video ready; None if it was
    deleted meanwhile. The media and pictures are in storage already."""
    every = [*result.renditions, *([result.audio] if result.audio else [])]
    for rendition in every:
        playlist = render_vod_playlist(rendition.segments).encode()
        await storage.put(_playlist_path(prefix, rendition), playlist)
    master = f"{prefix}/{MULTIVARIANT_NAME}"
    await storage.put(master, _multivariant(result.renditions, result.audio).encode())
    ids = await transcodes.reserve_picture_ids(len(result.pictures))
    pictures = [
        Picture(id, p.kind, f"{prefix}/{p.name}", p.width, p.height)
        for id, p in zip(ids, result.pictures, strict=True)
    ]
    storyboard_path = None
    if result.storyboard is not None:
        by_name = {picture.path: picture.id for picture in pictures}
        sheets = [thumbnail_name(by_name[f"{prefix}/{sheet}"]) for sheet in result.storyboard.sheets]
        storyboard_path = f"{prefix}/{STORYBOARD_NAME}"
        track = render_storyboard_vtt(result.storyboard, sheets, result.duration)
        await storage.put(storyboard_path, track.encode())
    return await transcodes.publish(
        TranscodedVideo(
            video_id=video_id,
            duration_seconds=result.duration,
            playlist_path=master,
            storyboard_path=storyboard_path,
            renditions=[_catalogued(prefix, rendition) for rendition in every],
            pictures=pictures,
            source_metadata=dataclasses.asdict(source),
        )
    )


def _multivariant(videos: Sequence[RenditionResult], audio: RenditionResult | None) -> str:
    if audio is None:
        return render_vod_multivariant_playlist([_variant(video, None) for video in videos], None)
    peak, average = _bit_rates(audio)
    return render_vod_multivariant_playlist(
        [_variant(video, audio) for video in videos],
        VariantInfo(name=audio.name, codecs=audio.codecs, bandwidth=peak, average_bandwidth=average),
        channels=audio.channels or 2,
    )


def _variant(video: RenditionResult, audio: RenditionResult | None) -> VariantInfo:
    """A video variant; with its audio group's bit rates and codec (RFC 8216 4.3.4.2)."""
    peak, average = _bit_rates(video)
    audio_peak, audio_average = _bit_rates(audio) if audio else (0, 0)
    return VariantInfo(
        name=video.name,
        codecs=f"{video.codecs},{audio.codecs}" if audio else video.codecs,
        bandwidth=peak + audio_peak,
        average_bandwidth=average + audio_average,
        width=video.width,
        height=video.height,
        frame_rate=video.frame_rate,
    )


def _bit_rates(rendition: RenditionResult) -> tuple[int, int]:
    return segment_bit_rates((s.size, s.duration) for s in rendition.segments)


def _catalogued(prefix: str, rendition: RenditionResult) -> TranscodedRendition:
    return TranscodedRendition(
        name=rendition.name,
        kind=rendition.kind,
        width=rendition.width,
        height=rendition.height,
        bitrate=_bit_rates(rendition)[0],
        codecs=rendition.codecs,
        playlist_path=_playlist_path(prefix, rendition),
    )


def _playlist_path(prefix: str, rendition: RenditionResult) -> str:
    return f"{prefix}/{rendition.name}/{MEDIA_PLAYLIST_NAME}"
