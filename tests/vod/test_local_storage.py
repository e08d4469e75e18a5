"""Local-disk storage: the interface's contract on a real directory, and keys that try to escape."""

from __future__ import annotations

import asyncio

import pytest

from vod.storage import InvalidKey, LocalStorage, ObjectInfo, ObjectNotFound, StorageError


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "root")


async def test_put_get_head_replace(storage):
    await storage.put("a/b/c.bin", b"first")
    assert await storage.get("a/b/c.bin") == b"first"
    await storage.put("a/b/c.bin", b"second, longer")
    assert await storage.get("a/b/c.bin") == b"second, longer"
    assert await storage.head("a/b/c.bin") == ObjectInfo("a/b/c.bin", 14)
    await storage.put("empty", b"")
    assert await storage.get("empty") == b""


async def test_ranges_are_clamped_like_s3(storage):
    await storage.put("r", bytes(range(10)))
    assert await storage.get_range("r", 2, 5) == bytes([2, 3, 4])
    assert await storage.get_range("r", 8, 100) == bytes([8, 9])
    assert await storage.get_range("r", 10, 20) == b""
    assert await storage.get_range("r", 3, 3) == b""
    with pytest.raises(ValueError):
        await storage.get_range("r", 5, 2)
    with pytest.raises(ObjectNotFound):
        await storage.get_range("missing", 0, 1)


async def test_missing_objects_and_prefixes_are_not_found(storage):
    await storage.put("dir/file", b"x")
    for key in ("nothing", "dir", "dir/file/deeper"):
        for call in (storage.get(key), storage.head(key), storage.get_range(key, 0, 1)):
            with pytest.raises(ObjectNotFound):
                await call


async def test_list_by_prefix_in_key_order(storage):
    for key in ("rec/s1/b/seg2.m4s", "rec/s1/a/seg1.m4s", "rec/s10/x", "rec/s2/y", "other"):
        await storage.put(key, key.encode())
    assert [o.key for o in await storage.list("rec/s1/")] == ["rec/s1/a/seg1.m4s", "rec/s1/b/seg2.m4s"]
    # A prefix is a string prefix, as in S3, not a directory.
    assert [o.key for o in await storage.list("rec/s1")] == [
        "rec/s1/a/seg1.m4s", "rec/s1/b/seg2.m4s", "rec/s10/x"]
    assert [o.key for o in await storage.list("")][-1] == "rec/s2/y"
    assert await storage.list("rec/none/") == []
    assert (await storage.list("other"))[0] == ObjectInfo("other", 5)


async def test_delete_is_idempotent_and_leaves_no_empty_directories(storage):
    await storage.put("a/b/one", b"1")
    await storage.put("a/two", b"2")
    await storage.delete("a/b/one")
    await storage.delete("a/b/one")
    assert not (storage.root / "a" / "b").exists()
    assert (storage.root / "a").is_dir() and storage.root.is_dir()
    await storage.delete("a/two")
    assert storage.root.is_dir() and not (storage.root / "a").exists()


async def test_interrupted_writes_never_show(storage):
    await storage.put("d/object", b"x")
    (storage.root / "d" / ".object.1234.tmp").write_bytes(b"half")  # a crash mid-write
    assert [o.key for o in await storage.list("d/")] == ["d/object"]
    # Concurrent writers to one key: a reader sees one whole version, never a mix.
    await asyncio.gather(*(storage.put("d/object", bytes([n]) * 100_000) for n in range(8)))
    data = await storage.get("d/object")
    assert len(data) == 100_000 and len(set(data)) == 1


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a//b", "a/", "..", "../x", "a/../b", "a/./b", ".hidden", "a/.x", "a\\b", "a b",
     "a/b\x00", "é", "x" * 129, "/".join(["a"] * 600), "C:/x", "~/x", "a/-b", "a/_"],
)
async def test_keys_that_break_the_rules_are_refused(storage, tmp_path, key):
    for call in (storage.put(key, b"x"), storage.get(key), storage.head(key), storage.delete(key),
                 storage.get_range(key, 0, 1)):
        with pytest.raises(InvalidKey):
            await call
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


async def test_bad_prefixes_are_refused(storage):
    for prefix in ("../", "/", "a//", ".x"):
        with pytest.raises(InvalidKey):
            await storage.list(prefix)


async def test_disk_failures_are_storage_errors(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    broken = LocalStorage(tmp_path / "file")  # the root is a file: nothing can be written
    with pytest.raises(StorageError):
        await broken.put("a/b", b"x")
