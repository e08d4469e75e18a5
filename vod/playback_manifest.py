"""A small JSON object per playable video, in storage next to its media: what an edge needs to
serve the video from storage alone when no origin answers.

Edges have no database, and a video's storage keys cannot be derived from its public id
(recordings live under ``recordings/{stream}/{start}/``), so the catalog's answer to "where is
this video and who may see it" (:meth:`catalog.recordings.Recordings.stored_video`) is kept at
a key the edge can compute, ``playback/video-{public_id}.json``. The object exists exactly while
the video is ready; the catalog stays the truth, and :meth:`PlaybackManifests.refresh` rebuilds
the manifest from it at any time.

A change that could tighten access (privacy, deletion) runs inside
:meth:`PlaybackManifests.changing`: the manifest is withdrawn first and written anew after, so a
failure anywhere in between leaves no manifest (edges then answer 502 for that video while
origins are down) rather than one that shows a private or deleted video as public. Two nodes
changing one video at the same instant may still leave the older state behind; the next change
repairs it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from pydantic import TypeAdapter, ValidationError

from catalog.recordings import Recordings, StoredVideo
from vod.storage import ObjectNotFound, Storage, StorageError

_FORMAT = TypeAdapter(StoredVideo)


def manifest_key(public_id: str) -> str:
    # Public ids may start with "-" or "_", which cannot start a key segment.
    return f"playback/video-{public_id}.json"


async def read_manifest(storage: Storage, public_id: str) -> StoredVideo | None:
    """The video's manifest, or None when it has none (not ready, deleted, unknown).

    A manifest that does not parse is a :class:`StorageError`: it was written by this module,
    so it is damage (or a newer format), not a missing video."""
    try:
        data = await storage.get(manifest_key(public_id))
    except ObjectNotFound:
        return None
    try:
        return _FORMAT.validate_json(data)
    except ValidationError as exc:
        what = f"{manifest_key(public_id)} is not a playback manifest"
        raise StorageError(f"{what} ({exc.error_count()} errors)") from None


class PlaybackManifests:
    """Keeps every video's manifest in step with the catalog (module docstring)."""

    def __init__(self, storage: Storage, recordings: Recordings) -> None:
        self._storage = storage
        self._recordings = recordings

    async def refresh(self, public_id: str) -> None:
        """Write the manifest as the catalog has the video now, or delete it if not playable."""
        video = await self._recordings.stored_video(public_id)
        key = manifest_key(public_id)
        if video is None:
            await self._storage.delete(key)
        else:
            await self._storage.put(key, _FORMAT.dump_json(video))

    @contextlib.asynccontextmanager
    async def changing(self, public_id: str) -> AsyncIterator[None]:
        """Around a catalog change to the video: withdraw its manifest, then refresh it (also
        when the change failed, as the catalog may then be unchanged)."""
        await self._storage.delete(manifest_key(public_id))
        try:
            yield
        finally:
            await self.refresh(public_id)
