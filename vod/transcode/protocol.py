"""What the transcode's child process is asked (:class:`TranscodeRequest`, a JSON file) and what
it says back (:data:`Message`, one JSON object per line on its stdout), as typed models both
sides validate: the child is another program as far as the parent is concerned, and a crash
half-way through a line must read as a failure, not as a result.

The child writes every output file into its output directory and announces it
(:class:`FileReady`), so the parent uploads while encoding goes on; the final
:class:`Finished` carries everything the playlists and the catalog need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tributary.settings import TranscodeSettings
from vod.recording.playlists import RecordedSegment
from vod.transcode.probe import SourceInfo


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TranscodeRequest(_Model):
    source: Path
    output_dir: Path
    settings: TranscodeSettings
    log_level: str = "INFO"


class RenditionResult(_Model):
    name: str
    kind: Literal["video", "audio"]
    codecs: str
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    channels: int | None = None
    segments: list[RecordedSegment]
    """Every segment, numbered from 0, all with init segment 0 (``init0.mp4``)."""


class PictureResult(_Model):
    kind: Literal["poster", "thumbnail", "storyboard"]
    name: str
    """File name in the output directory (and under the video's storage prefix)."""
    width: int
    height: int


class StoryboardResult(_Model):
    interval: float
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    tiles: int
    sheets: list[str]
    """Names of the sprite sheets (pictures of kind ``storyboard``), in order; each holds
    ``columns`` x ``rows`` tiles, row by row (the last one may have fewer rows)."""


class TranscodeResult(_Model):
    duration: float
    """Seconds of picture actually encoded."""
    renditions: list[RenditionResult]
    """Video renditions, largest first."""
    audio: RenditionResult | None
    pictures: list[PictureResult]
    storyboard: StoryboardResult | None


class Probed(_Model):
    type: Literal["probed"] = "probed"
    source: SourceInfo


class Refused(_Model):
    """The file is not a playable video; ``reason`` is for its owner."""

    type: Literal["refused"] = "refused"
    reason: str


class Progress(_Model):
    type: Literal["progress"] = "progress"
    seconds: float
    """Seconds of the source encoded so far."""


class FileReady(_Model):
    """``name`` (a ``/``-separated path under the output directory) is complete; the parent
    uploads it and deletes it."""

    type: Literal["file"] = "file"
    name: str


class Finished(_Model):
    type: Literal["finished"] = "finished"
    result: TranscodeResult


Message = Annotated[Probed | Refused | Progress | FileReady | Finished, Field(discriminator="type")]
MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)
