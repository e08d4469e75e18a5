"""Playback manifests on a real node: written when a recording becomes a video, following the
video's privacy through the API, withdrawn when it is deleted or stops being ready, and what a
change that fails halfway leaves behind."""

from __future__ import annotations

import json

import pytest

from catalog.videos import Privacy, Status, Videos
from tests.support.recorded_videos import recorded_video
from tests.vod.media import fmp4_segments
from vod.playback_manifest import PlaybackManifests, manifest_key, read_manifest
from vod.storage import ObjectNotFound, StorageError


@pytest.fixture(scope="module")
def media() -> tuple[bytes, list[bytes]]:
    return fmp4_segments(seconds=3)


async def test_a_published_recording_has_its_catalog_entry_as_manifest(
        api, recorder, recordings, node_storage, media):
    public_id, _ = await recorded_video(api, recorder, media)
    stored = await recordings.stored_video(public_id)
    assert await read_manifest(node_storage, public_id) == stored
    # Plain JSON at a key an edge computes from the public id alone.
    raw = json.loads(await node_storage.get(manifest_key(public_id)))
    assert raw["privacy"] == "public"
    assert raw["playlist_path"] == stored.playlist_path
    assert stored.playlist_path.startswith("recordings/")
    assert raw["renditions"] == {"source": stored.renditions["source"]}
    [(thumbnail_id, poster)] = stored.thumbnails.items()
    assert raw["thumbnails"] == {str(thumbnail_id): poster}


async def test_the_manifest_follows_privacy_changes_made_through_the_api(
        api, recorder, recordings, node_storage, media):
    public_id, owner = await recorded_video(api, recorder, media)
    for privacy in (Privacy.UNLISTED, Privacy.PRIVATE, Privacy.PUBLIC, Privacy.PRIVATE):
        got = await api.call("PATCH", f"/videos/{public_id}", json={"privacy": privacy},
                             account=owner)
        assert got.status == 200, got.body
        manifest = await read_manifest(node_storage, public_id)
        assert manifest == await recordings.stored_video(public_id)
        assert manifest.privacy is privacy


async def test_a_failed_change_leaves_the_manifest_as_the_catalog_is(
        api, recorder, node_storage, media):
    """The manifest is withdrawn for the change; the change fails (and rolls back) on an unknown
    thumbnail, and the manifest comes back unchanged, not missing and not private."""
    public_id, owner = await recorded_video(api, recorder, media)
    before = await read_manifest(node_storage, public_id)
    got = await api.call("PATCH", f"/videos/{public_id}",
                         json={"privacy": "private", "thumbnail_id": 2**40}, account=owner)
    assert got.status == 422
    assert await read_manifest(node_storage, public_id) == before
    assert before.privacy is Privacy.PUBLIC


async def test_deleting_the_video_deletes_its_manifest(api, recorder, node_storage, media):
    public_id, owner = await recorded_video(api, recorder, media)
    assert await read_manifest(node_storage, public_id) is not None
    got = await api.call("DELETE", f"/videos/{public_id}", account=owner)
    assert got.status == 204
    assert await read_manifest(node_storage, public_id) is None
    with pytest.raises(ObjectNotFound):
        await node_storage.head(manifest_key(public_id))


async def test_refresh_withdraws_the_manifest_of_a_video_that_cannot_play(
        api, vod_node, recorder, recordings, node_storage, media):
    public_id, _ = await recorded_video(api, recorder, media)
    videos = Videos(vod_node.node.pool)
    await videos.set_status((await videos.get(public_id)).id, Status.FAILED, failure_reason="test")
    manifests = PlaybackManifests(node_storage, recordings)
    await manifests.refresh(public_id)
    assert await read_manifest(node_storage, public_id) is None
    await manifests.refresh("-unknown-id")  # no video at all: nothing to write, nothing raised
    assert await read_manifest(node_storage, "-unknown-id") is None


async def test_a_damaged_manifest_is_a_storage_error_not_a_missing_video(node_storage):
    await node_storage.put(manifest_key("_damaged_id"), b'{"privacy": "secret"}')
    with pytest.raises(StorageError):
        await read_manifest(node_storage, "_damaged_id")
