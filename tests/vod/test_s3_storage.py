"""S3 storage against a real S3 HTTP API (moto's server on loopback): the storage contract, run
on the local disk and on S3 alike so the two cannot drift apart, then what only S3 has
(multipart uploads, a key prefix shared bucket, an unreachable endpoint, settings)."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from tests.support.s3 import moto_endpoint, operator_client, s3_bucket, s3_settings
from tributary.settings import S3Settings, StorageSettings
from vod.storage import (
    InvalidKey,
    LocalStorage,
    ObjectInfo,
    ObjectNotFound,
    S3Storage,
    Storage,
    StorageError,
    open_storage,
)

__all__ = ["moto_endpoint", "s3_bucket"]  # fixtures

MIB = 1024 * 1024


@pytest.fixture
async def s3(moto_endpoint, s3_bucket) -> AsyncIterator[S3Storage]:
    storage = S3Storage(s3_settings(moto_endpoint, s3_bucket))
    await storage.open()
    yield storage
    await storage.close()


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path) -> Storage:
    """Each contract test runs on both backends."""
    if request.param == "local":
        return LocalStorage(tmp_path / "root")
    return request.getfixturevalue("s3")


# -- the contract ---------------------------------------------------------------------------

async def test_put_get_head_replace(storage):
    await storage.put("a/b/c.bin", b"first")
    assert await storage.get("a/b/c.bin") == b"first"
    await storage.put("a/b/c.bin", b"second, longer")
    assert await storage.get("a/b/c.bin") == b"second, longer"
    assert await storage.head("a/b/c.bin") == ObjectInfo("a/b/c.bin", 14)
    await storage.put("empty", b"")
    assert await storage.get("empty") == b""
    assert await storage.head("empty") == ObjectInfo("empty", 0)


async def test_ranges_are_clamped(storage):
    await storage.put("r", bytes(range(10)))
    assert await storage.get_range("r", 2, 5) == bytes([2, 3, 4])
    assert await storage.get_range("r", 0, 10) == bytes(range(10))
    assert await storage.get_range("r", 8, 100) == bytes([8, 9])
    assert await storage.get_range("r", 10, 20) == b""
    assert await storage.get_range("r", 50, 60) == b""
    assert await storage.get_range("r", 3, 3) == b""
    await storage.put("empty", b"")
    assert await storage.get_range("empty", 0, 5) == b""
    with pytest.raises(ValueError):
        await storage.get_range("r", 5, 2)
    with pytest.raises(ValueError):
        await storage.get_range("r", -1, 2)


async def test_missing_objects_and_prefixes_are_not_found(storage):
    await storage.put("dir/file", b"x")
    for key in ("nothing", "dir", "dir/file/deeper"):
        for call in (storage.get(key), storage.head(key), storage.get_range(key, 0, 1),
                     storage.get_range(key, 2, 2)):
            with pytest.raises(ObjectNotFound):
                await call


async def test_list_by_prefix_in_key_order(storage):
    for key in ("rec/s1/b/seg2.m4s", "rec/s1/a/seg1.m4s", "rec/s10/x", "rec/s2/y", "other",
                "rec/s1/A", "rec/s1/a-b"):
        await storage.put(key, key.encode())
    assert [o.key for o in await storage.list("rec/s1/")] == [
        "rec/s1/A", "rec/s1/a-b", "rec/s1/a/seg1.m4s", "rec/s1/b/seg2.m4s"]
    # A prefix is a string prefix, as in S3, not a directory.
    assert [o.key for o in await storage.list("rec/s1")] == [
        "rec/s1/A", "rec/s1/a-b", "rec/s1/a/seg1.m4s", "rec/s1/b/seg2.m4s", "rec/s10/x"]
    everything = await storage.list("")
    assert [o.key for o in everything] == sorted(o.key for o in everything)
    assert len(everything) == 7 and everything[-1].key == "rec/s2/y"
    assert await storage.list("rec/none/") == []
    assert await storage.list("other") == [ObjectInfo("other", 5)]


async def test_delete_is_idempotent(storage):
    await storage.put("a/b/one", b"1")
    await storage.put("a/two", b"2")
    await storage.delete("a/b/one")
    await storage.delete("a/b/one")
    await storage.delete("never/was")
    assert await storage.list("a/") == [ObjectInfo("a/two", 1)]
    with pytest.raises(ObjectNotFound):
        await storage.get("a/b/one")


@pytest.mark.parametrize(
    "key", ["", "/abs", "a//b", "a/", "..", "../x", "a/./b", ".hidden", "a\\b", "a b", "a/b\x00",
            "é", "x" * 129, "/".join(["a"] * 600)],
)
async def test_keys_that_break_the_rules_are_refused(storage, key):
    for call in (storage.put(key, b"x"), storage.get(key), storage.head(key), storage.delete(key),
                 storage.get_range(key, 0, 1)):
        with pytest.raises(InvalidKey):
            await call
    assert await storage.list("") == []


async def test_bad_prefixes_are_refused(storage):
    for prefix in ("../", "/", "a//", ".x"):
        with pytest.raises(InvalidKey):
            await storage.list(prefix)


async def test_whole_files_in_and_out(storage, tmp_path):
    """An upload goes in from its staged file and a transcoder takes it out to a local file."""
    data = os.urandom(3 * MIB + 5)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    await storage.put_file("uploads/video-x/source", source)
    assert source.read_bytes() == data, "the caller's file is left as it was"
    assert await storage.head("uploads/video-x/source") == ObjectInfo("uploads/video-x/source", len(data))
    assert await storage.get("uploads/video-x/source") == data
    out = tmp_path / "out"
    out.mkdir()
    target = out / "copy.bin"
    target.write_bytes(b"an older file")
    await storage.get_file("uploads/video-x/source", target)
    assert target.read_bytes() == data, "replaced whole"
    source.write_bytes(b"")
    await storage.put_file("uploads/video-x/source", source)
    await storage.get_file("uploads/video-x/source", target)
    assert target.read_bytes() == b""


async def test_whole_files_fail_cleanly(storage, tmp_path):
    target = tmp_path / "copy.bin"
    target.write_bytes(b"kept")
    with pytest.raises(ObjectNotFound):
        await storage.get_file("never/was", target)
    assert target.read_bytes() == b"kept", "left as it was"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"
    with pytest.raises(FileNotFoundError) as raised:  # the caller's file: not a storage failure
        await storage.put_file("absent/source", tmp_path / "absent.bin")
    assert not isinstance(raised.value, StorageError)
    with pytest.raises(ObjectNotFound):
        await storage.head("absent/source")
    with pytest.raises(InvalidKey):
        await storage.put_file("../escape", target)
    with pytest.raises(InvalidKey):
        await storage.get_file("../escape", target)


# -- S3 only --------------------------------------------------------------------------------

async def test_large_objects_go_up_in_parts(moto_endpoint, s3_bucket):
    """11 MiB with 5 MiB parts: three parts (5, 5, 1), S3's real minimum part size enforced."""
    settings = s3_settings(moto_endpoint, s3_bucket, multipart_threshold=6 * MIB,
                           multipart_part_size=5 * MIB)
    storage = S3Storage(settings)
    await storage.open()
    try:
        data = bytes(range(251)) * (11 * MIB // 251)
        await storage.put("big/object.bin", data)
        small = b"z" * (6 * MIB - 1)  # just under the threshold: one PUT
        await storage.put("big/small.bin", small)
        assert await storage.get("big/object.bin") == data
        assert await storage.head("big/object.bin") == ObjectInfo("big/object.bin", len(data))
        assert await storage.get_range("big/object.bin", 5 * MIB - 3, 5 * MIB + 3) == \
            data[5 * MIB - 3: 5 * MIB + 3]
        async with operator_client(moto_endpoint) as client:
            big = await client.head_object(Bucket=s3_bucket, Key="big/object.bin", PartNumber=1)
            one = await client.head_object(Bucket=s3_bucket, Key="big/small.bin", PartNumber=1)
            pending = await client.list_multipart_uploads(Bucket=s3_bucket)
        assert (big["PartsCount"], big["ContentLength"]) == (3, 5 * MIB)
        assert "PartsCount" not in one
        assert not pending.get("Uploads"), "completed uploads leave nothing pending"
    finally:
        await storage.close()


async def test_large_files_go_up_in_parts_and_come_down_whole(moto_endpoint, s3_bucket, tmp_path):
    """A file goes up one part at a time, read from disk as it is sent."""
    settings = s3_settings(moto_endpoint, s3_bucket, multipart_threshold=6 * MIB,
                           multipart_part_size=5 * MIB)
    storage = S3Storage(settings)
    await storage.open()
    try:
        data = os.urandom(11 * MIB)
        source = tmp_path / "source.bin"
        source.write_bytes(data)
        await storage.put_file("big/file.bin", source)
        target = tmp_path / "back.bin"
        await storage.get_file("big/file.bin", target)
        assert target.read_bytes() == data
        async with operator_client(moto_endpoint) as client:
            first = await client.head_object(Bucket=s3_bucket, Key="big/file.bin", PartNumber=1)
            pending = await client.list_multipart_uploads(Bucket=s3_bucket)
        assert (first["PartsCount"], first["ContentLength"]) == (3, 5 * MIB)
        assert not pending.get("Uploads")
    finally:
        await storage.close()


async def test_a_failed_multipart_upload_is_aborted(moto_endpoint, s3_bucket, tmp_path):
    """A part size S3 refuses (here: forced below 5 MiB) fails the put, and the upload is not
    left behind to be billed."""
    settings = s3_settings(moto_endpoint, s3_bucket, multipart_threshold=6 * MIB)
    storage = S3Storage(settings.model_copy(update={"multipart_part_size": MIB}))  # unvalidated
    await storage.open()
    try:
        with pytest.raises(StorageError):
            await storage.put("refused.bin", b"y" * (7 * MIB))
        source = tmp_path / "refused.bin"
        source.write_bytes(b"z" * (7 * MIB))
        with pytest.raises(StorageError):
            await storage.put_file("refused.bin", source)
        async with operator_client(moto_endpoint) as client:
            pending = await client.list_multipart_uploads(Bucket=s3_bucket)
        assert not pending.get("Uploads")
        with pytest.raises(ObjectNotFound):
            await storage.head("refused.bin")
    finally:
        await storage.close()


async def test_a_key_prefix_keeps_deployments_apart(moto_endpoint, s3_bucket):
    ours = S3Storage(s3_settings(moto_endpoint, s3_bucket, prefix="site/a/"))
    theirs = S3Storage(s3_settings(moto_endpoint, s3_bucket, prefix="site/b/"))
    for storage in (ours, theirs):
        await storage.open()
    try:
        await ours.put("videos/x", b"ours")
        await theirs.put("videos/x", b"theirs")
        assert await ours.get("videos/x") == b"ours"
        assert await ours.list("") == [ObjectInfo("videos/x", 4)]
        await ours.delete("videos/x")
        assert await theirs.get("videos/x") == b"theirs"
        async with operator_client(moto_endpoint) as client:
            await client.put_object(Bucket=s3_bucket, Key="site/b/not a key", Body=b"?")
            listed = await client.list_objects_v2(Bucket=s3_bucket)
        assert [o["Key"] for o in listed["Contents"]] == ["site/b/not a key", "site/b/videos/x"]
        assert await theirs.list("") == [ObjectInfo("videos/x", 6)], "foreign objects are skipped"
    finally:
        for storage in (ours, theirs):
            await storage.close()


async def test_an_unreachable_store_is_a_storage_error(s3_bucket, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = S3Storage(s3_settings(f"http://127.0.0.1:{port}", s3_bucket, attempts=1,
                                    connect_timeout=0.5))
    await storage.open()
    try:
        local = tmp_path / "local.bin"
        local.write_bytes(b"x")
        for call in (storage.put("k", b"x"), storage.get("k"), storage.head("k"),
                     storage.get_range("k", 0, 1), storage.list(""), storage.delete("k"),
                     storage.put_file("k", local), storage.get_file("k", tmp_path / "copy.bin")):
            with pytest.raises(StorageError) as raised:
                await call
            assert not isinstance(raised.value, ObjectNotFound)
    finally:
        await storage.close()


async def test_a_missing_bucket_is_a_storage_error(moto_endpoint):
    """Not "not found": a misconfigured node must not look like one whose videos are gone."""
    storage = S3Storage(s3_settings(moto_endpoint, "no-such-bucket-here"))
    await storage.open()
    try:
        with pytest.raises(StorageError) as raised:
            await storage.get("k")
        assert not isinstance(raised.value, ObjectNotFound)
    finally:
        await storage.close()


async def test_open_storage_picks_the_backend(moto_endpoint, s3_bucket, tmp_path):
    local = await open_storage(StorageSettings(), tmp_path)
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "storage"
    await local.close()
    s3 = await open_storage(StorageSettings(s3=s3_settings(moto_endpoint, s3_bucket)), tmp_path)
    try:
        assert isinstance(s3, S3Storage)
        await s3.put("opened", b"ready")
        assert await s3.get("opened") == b"ready"
    finally:
        await s3.close()


def test_s3_settings_are_checked():
    for bad in ({"bucket": "Not_A_Bucket"}, {"bucket": "ok-bucket", "prefix": "no-slash"},
                {"bucket": "ok-bucket", "prefix": "/abs/"},
                {"bucket": "ok-bucket", "access_key_id": "only-half"},
                {"bucket": "ok-bucket", "multipart_part_size": 1024},
                {"bucket": "ok-bucket", "surprise": 1}):
        with pytest.raises(ValidationError):
            S3Settings(**bad)
    settings = S3Settings(bucket="ok-bucket", prefix="a/b/")
    assert (settings.multipart_part_size, settings.multipart_threshold) == (8 * MIB, 8 * MIB)
