"""Resumable video uploads over tus 1.0 (``/api/v1/uploads``).

* :mod:`~vod.uploads.protocol` — the tus wire format: names, statuses, header grammar;
* :mod:`~vod.uploads.metadata` — the video's fields from ``Upload-Metadata``;
* :mod:`~vod.uploads.staging` — the bytes of unfinished uploads on this node's disk;
* :mod:`~vod.uploads.store` — uploads made, bytes received, finished ones handed on to storage
  and processing (``on_uploaded``), abandoned ones swept;
* :mod:`~vod.uploads.routes` — the aiohttp application the node mounts at ``/api/v1/uploads``.

Rows live in PostgreSQL (:mod:`catalog.uploads`, migration ``0006_uploads.sql``).
"""

from vod.uploads.routes import UPLOADS_PATH, create_upload_app
from vod.uploads.store import OnUploaded, UploadedVideo, UploadStore, source_key

__all__ = ["UPLOADS_PATH", "OnUploaded", "UploadStore", "UploadedVideo", "create_upload_app", "source_key"]
