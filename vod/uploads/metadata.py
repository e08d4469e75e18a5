"""What an upload's ``Upload-Metadata`` says about its video, held to the API's own field rules.

A tus client has no JSON body to describe the video, so the title (required) and the optional
description and privacy ride in the metadata, checked with the same types ``POST /videos`` uses;
``filename`` and ``filetype`` are kept for whoever processes the file. Other keys are left alone:
clients add their own (Uppy sends ``name``, ``type``, ``relativePath``), and refusing them would
refuse those clients.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, ValidationError

from catalog.api.errors import ApiError
from catalog.api.fields import line
from catalog.api.videos import VideoDescription, VideoTitle
from catalog.videos import Privacy
from vod.uploads.protocol import UPLOAD_METADATA

FileText = Annotated[str, line(255)]


class VideoFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: VideoTitle
    description: VideoDescription = ""
    privacy: Privacy = Privacy.PRIVATE
    filename: FileText | None = None
    filetype: FileText | None = None


def video_fields(metadata: dict[str, str]) -> VideoFields:
    """The video's fields, or a 422 listing what is wrong (without echoing the values)."""
    try:
        return VideoFields.model_validate(metadata)
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_context=False, include_input=False)
        located = [{**detail, "in": "header", "loc": [UPLOAD_METADATA, *detail["loc"]]} for detail in details]
        raise ApiError(422, "validation_error", located) from None
