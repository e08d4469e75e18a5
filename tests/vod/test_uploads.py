"""Resumable uploads end to end: real nodes (PostgreSQL, Redis, storage), the real Python tus client
(tuspy), a real video file from ffmpeg. Uploads interrupted (the client stopping after some chunks,
the connection dropped mid-body, the node restarted in between) and resumed, checksums, the size
limit, expiry, termination, and the hand-over of a finished upload to storage and processing, on
the local disk and on S3."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs
from tusclient.exceptions import TusCommunicationError

from tests.support.api_client import Account, Api
from tests.support.nodes import RunningNode
from tests.support.s3 import moto_endpoint, operator_client, s3_bucket, s3_settings
from tests.support.uploads import (
    MIB,
    OCTETS,
    RawRequest,
    create,
    open_staged_files,
    patch,
    random_file,
    tus,
    tuspy,
    upload_id,
    upload_node,
    upload_tasks,
    video_file,
    wait_for,
)
from tributary.settings import Settings, StorageSettings
from vod.storage import LocalStorage
from vod.uploads import UploadedVideo, source_key

__all__ = ["moto_endpoint", "s3_bucket"]  # fixtures

MAX_SIZE = 8 * MIB


@pytest.fixture(scope="module")
async def node(services, tmp_path_factory) -> AsyncIterator[RunningNode]:
    data_dir = tmp_path_factory.mktemp("uploads")
    async with upload_node(services, data_dir, max_size=MAX_SIZE, sweep_interval=0.25) as running:
        yield running


@pytest.fixture
async def api(node) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield Api(session, node.api, node)


@pytest.fixture
async def creator(api) -> Account:
    return await api.register(creator=True)


@pytest.fixture
def handed_on(node) -> Iterator[list[UploadedVideo]]:
    """What the node hands on (where the transcode queue will listen)."""
    seen: list[UploadedVideo] = []

    async def record(video: UploadedVideo) -> None:
        seen.append(video)

    node.node.uploads.on_uploaded = record
    yield seen
    node.node.uploads.on_uploaded = None


@pytest.fixture(autouse=True)
def no_unexpected_errors() -> Iterator[None]:
    """Whatever a test does, the node answers it without a 500 or an unheard failure."""
    with capture_logs() as logs:
        yield
    crashes = [entry for entry in logs if entry["event"] in ("api.unexpected_error", "upload.transfer_failed")]
    assert not crashes, crashes


async def assert_idle(node: RunningNode) -> None:
    """No transfer or hand-over still running, no staged file left open."""
    await wait_for(lambda: not upload_tasks() and not open_staged_files(node), what="uploads to settle")


def body_headers(account: Account, offset: int, length: int) -> dict[str, str]:
    return {**OCTETS, **account.auth, "Upload-Offset": str(offset), "Content-Length": str(length)}


async def head(api: Api, url: str, account: Account) -> dict[str, str]:
    answer = await tus(api.session, "HEAD", url, account=account)
    assert answer.status == 200, answer
    return answer.headers


async def processing(api: Api, account: Account, video_id: str) -> dict:
    async def status() -> dict | None:
        got = await api.call("GET", f"/videos/{video_id}", account=account)
        assert got.status == 200, got.body
        return got.body if got.body["status"] == "processing" else None

    return await wait_for(status, what=f"video {video_id} to be processing")


async def stored_source(node: RunningNode, video_id: str) -> bytes:
    return await LocalStorage(node.node.settings.data_dir / "storage").get(source_key(video_id))


async def test_a_real_video_goes_up_in_chunks_and_on_to_processing(node, api, creator, handed_on, tmp_path):
    source = await video_file(tmp_path / "clip.mp4")
    size = source.stat().st_size
    uploader = await asyncio.to_thread(
        tuspy, node, creator, source, chunk_size=64 * 1024, upload_checksum=True, title="My clip"
    )
    await asyncio.to_thread(uploader.upload)
    assert uploader.url.startswith(f"{node.api}/uploads/"), "Location is an absolute URL"

    headers = await head(api, uploader.url, creator)
    assert headers["Upload-Offset"] == headers["Upload-Length"] == str(size)
    assert "Upload-Expires" not in headers, "a complete upload does not expire"
    metadata = dict(pair.split(" ") for pair in headers["Upload-Metadata"].split(","))
    assert base64.b64decode(metadata["filename"]) == b"clip.mp4"
    video_id = headers["Tributary-Video-Id"]

    video = await processing(api, creator, video_id)
    assert (video["title"], video["privacy"], video["channel"]) == ("My clip", "private", creator.channel)
    assert await stored_source(node, video_id) == source.read_bytes()
    await wait_for(lambda: handed_on, what="the hand-over")
    [handed] = handed_on
    assert (handed.public_id, handed.raw_key, handed.size) == (video_id, f"uploads/video-{video_id}/source", size)
    staged = upload_id(uploader.url)
    await wait_for(lambda: not node.node.uploads.staging.has(staged), what="staged bytes to go once stored")
    await assert_idle(node)


async def test_tuspy_stops_halfway_and_another_client_resumes(node, api, creator, tmp_path):
    source = random_file(tmp_path / "upload.bin", 3 * MIB + 12_345)
    first = await asyncio.to_thread(tuspy, node, creator, source, chunk_size=512 * 1024)
    await asyncio.to_thread(first.upload, 3 * 512 * 1024)  # three chunks, then the client stops
    headers = await head(api, first.url, creator)
    assert int(headers["Upload-Offset"]) == 3 * 512 * 1024
    assert "Upload-Expires" in headers

    second = await asyncio.to_thread(tuspy, node, creator, source, url=first.url, upload_checksum=True)
    assert second.offset == 3 * 512 * 1024, "the new client learnt where to resume from HEAD"
    await asyncio.to_thread(second.upload)
    video_id = (await head(api, first.url, creator))["Tributary-Video-Id"]
    await processing(api, creator, video_id)
    assert await stored_source(node, video_id) == source.read_bytes()
    await assert_idle(node)


async def test_a_connection_dropped_mid_body_keeps_what_arrived(node, api, creator, tmp_path):
    data = os.urandom(2 * MIB)
    created = await create(api.session, node, creator, len(data))
    assert created.status == 201, created
    url = created.headers["Location"]
    sent = MIB + 100_000
    request = await RawRequest.open(node, "PATCH", url, body_headers(creator, 0, len(data)))
    await request.send(data[:sent])
    staged = node.node.uploads.staging.path(upload_id(url))
    await wait_for(lambda: staged.exists() and staged.stat().st_size >= MIB, what="the first MiB")
    await request.close()  # the client vanishes halfway through its body

    async def committed() -> bool:
        return (await head(api, url, creator))["Upload-Offset"] == str(sent)

    await wait_for(committed, what="the bytes that arrived to be committed")
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    resumed = await asyncio.to_thread(tuspy, node, creator, source, url=url)
    assert resumed.offset == sent
    await asyncio.to_thread(resumed.upload)
    video_id = created.headers["Tributary-Video-Id"]
    await processing(api, creator, video_id)
    assert await stored_source(node, video_id) == data
    await assert_idle(node)


async def test_a_node_restart_between_the_halves(services, tmp_path):
    """A first MiB from tuspy, then a body the node is stopped in the middle of; bytes past the
    offset left in the staged file (a crash between the write and the commit); then a new node on
    the same data directory and database, where tuspy finishes."""
    data_dir = tmp_path / "node"
    source = random_file(tmp_path / "upload.bin", 2 * MIB + 7)
    in_flight = 300_000
    async with upload_node(services, data_dir) as first, aiohttp.ClientSession() as session:
        port = first.node.endpoints.http_port
        creator = await Api(session, first.api, first).register(creator=True)
        uploader = await asyncio.to_thread(tuspy, first, creator, source, chunk_size=MIB)
        await asyncio.to_thread(uploader.upload, MIB)
        url = uploader.url
        request = await RawRequest.open(first, "PATCH", url, body_headers(creator, MIB, MIB))
        await request.send(source.read_bytes()[MIB:MIB + in_flight])
        await asyncio.sleep(0.3)  # read by the node, which now stops with the body unfinished
    await request.close()
    with (data_dir / "uploads" / upload_id(url)).open("ab") as staged:
        staged.write(b"never committed")

    async with upload_node(services, data_dir, port=port) as second, aiohttp.ClientSession() as session:
        api = Api(session, second.api, second)
        headers = await head(api, url, creator)
        assert headers["Upload-Offset"] == str(MIB + in_flight), "durable, and only what was committed"
        resumed = await asyncio.to_thread(tuspy, second, creator, source, url=url, upload_checksum=True)
        await asyncio.to_thread(resumed.upload)
        video_id = headers["Tributary-Video-Id"]
        await processing(api, creator, video_id)
        assert await stored_source(second, video_id) == source.read_bytes()
        await assert_idle(second)


async def test_a_checksum_mismatch_keeps_nothing_of_the_body(node, api, creator, tmp_path):
    data = os.urandom(300_000)
    created = await create(api.session, node, creator, len(data))
    url = created.headers["Location"]

    def checksum(algorithm: str, body: bytes) -> dict[str, str]:
        return {"Upload-Checksum": f"{algorithm} {base64.b64encode(hashlib.new(algorithm, body).digest()).decode()}"}

    wrong = await patch(api.session, url, creator, 0, data[:100_000], checksum("sha1", data[1:100_001]))
    assert (wrong.status, wrong.body["error"]) == (460, "checksum_mismatch")
    assert (await head(api, url, creator))["Upload-Offset"] == "0"
    assert node.node.uploads.staging.path(upload_id(url)).stat().st_size == 0, "nothing of it was kept"
    for start, algorithm in zip((0, 100_000), ("md5", "sha256"), strict=True):
        chunk = data[start:start + 100_000]
        assert (await patch(api.session, url, creator, start, chunk, checksum(algorithm, chunk))).status == 204
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    resumed = await asyncio.to_thread(tuspy, node, creator, source, url=url, upload_checksum=True)
    await asyncio.to_thread(resumed.upload)
    video_id = created.headers["Tributary-Video-Id"]
    await processing(api, creator, video_id)
    assert await stored_source(node, video_id) == data
    await assert_idle(node)


async def test_an_upload_over_the_maximum_size_is_refused(node, api, creator, tmp_path):
    big = random_file(tmp_path / "big.bin", MAX_SIZE + 1)
    uploader = await asyncio.to_thread(tuspy, node, creator, big)
    with pytest.raises(TusCommunicationError) as raised:
        await asyncio.to_thread(uploader.upload)
    assert raised.value.status_code == 413
    answer = await create(api.session, node, creator, MAX_SIZE + 1)
    assert (answer.status, answer.headers["Tus-Max-Size"]) == (413, str(MAX_SIZE))
    listed = await api.call("GET", f"/channels/{creator.channel}/videos", account=creator)
    assert listed.body["items"] == [], "no video was made"
    exact = await create(api.session, node, creator, MAX_SIZE)
    assert exact.status == 201, "the maximum itself is allowed"


async def test_an_abandoned_upload_expires_and_is_swept(services, tmp_path):
    async with upload_node(services, tmp_path / "node", expiration=1.0, sweep_interval=0.2) as node, \
            aiohttp.ClientSession() as session:
        api = Api(session, node.api, node)
        creator = await api.register(creator=True)
        source = random_file(tmp_path / "upload.bin", 2 * MIB)
        uploader = await asyncio.to_thread(tuspy, node, creator, source, chunk_size=MIB)
        await asyncio.to_thread(uploader.upload, MIB)
        video_id = (await head(api, uploader.url, creator))["Tributary-Video-Id"]
        staged = node.node.uploads.staging.path(upload_id(uploader.url))
        assert staged.exists()

        async def gone() -> bool:
            answer = await tus(session, "HEAD", uploader.url, account=creator)
            assert answer.status in (200, 404, 410), answer
            return answer.status == 404

        await wait_for(gone, timeout=10, what="the sweeper")
        await wait_for(lambda: not staged.exists(), what="the staged bytes to go")
        assert (await api.call("GET", f"/videos/{video_id}", account=creator)).status == 404
        rows = "SELECT count(*) FROM uploads WHERE id = $1"
        assert not await node.node.pool.fetchval(rows, upload_id(uploader.url))
        late = await patch(session, uploader.url, creator, MIB, source.read_bytes()[MIB:])
        assert late.status == 404
        with pytest.raises(TusCommunicationError):
            await asyncio.to_thread(tuspy, node, creator, source, url=uploader.url)


async def test_termination_deletes_the_upload_and_its_video(node, api, creator, tmp_path):
    source = random_file(tmp_path / "upload.bin", MIB)
    uploader = await asyncio.to_thread(tuspy, node, creator, source, chunk_size=256 * 1024)
    await asyncio.to_thread(uploader.upload, 256 * 1024)
    video_id = (await head(api, uploader.url, creator))["Tributary-Video-Id"]
    assert (await tus(api.session, "DELETE", uploader.url, account=creator)).status == 204
    assert (await tus(api.session, "HEAD", uploader.url, account=creator)).status == 404
    assert (await tus(api.session, "DELETE", uploader.url, account=creator)).status == 404
    assert (await api.call("GET", f"/videos/{video_id}", account=creator)).status == 404
    assert not node.node.uploads.staging.has(upload_id(uploader.url))

    finished = await create(api.session, node, creator, 10, data=b"0123456789")
    assert finished.headers["Upload-Offset"] == "10"
    refused = await tus(api.session, "DELETE", finished.headers["Location"], account=creator)
    assert (refused.status, refused.body["error"]) == (409, "upload_complete")
    await processing(api, creator, finished.headers["Tributary-Video-Id"])
    await assert_idle(node)


async def test_a_video_deleted_mid_upload_takes_its_upload_along(node, api, creator, tmp_path):
    source = random_file(tmp_path / "upload.bin", MIB)
    uploader = await asyncio.to_thread(tuspy, node, creator, source, chunk_size=256 * 1024)
    await asyncio.to_thread(uploader.upload, 256 * 1024)
    video_id = (await head(api, uploader.url, creator))["Tributary-Video-Id"]
    assert (await api.call("DELETE", f"/videos/{video_id}", account=creator)).status == 204
    assert (await tus(api.session, "HEAD", uploader.url, account=creator)).status == 404
    staged = node.node.uploads.staging.path(upload_id(uploader.url))
    await wait_for(lambda: not staged.exists(), what="the sweeper to remove the orphan")


async def test_a_failed_hand_over_is_retried(node, api, creator, tmp_path):
    calls: list[UploadedVideo] = []

    async def queue_down_once(video: UploadedVideo) -> None:
        calls.append(video)
        if len(calls) == 1:
            raise ConnectionError("the queue is down")

    node.node.uploads.on_uploaded = queue_down_once
    try:
        with capture_logs() as logs:
            created = await create(api.session, node, creator, 5, data=b"bytes")
            await wait_for(lambda: len(calls) == 2, what="the retry")
    finally:
        node.node.uploads.on_uploaded = None
    failures = [entry for entry in logs if entry["event"] == "upload.hand_over_failed"]
    assert len(failures) == 1, failures
    assert calls[0] == calls[1], "handed on at least once, the same video each time"
    upload = upload_id(created.headers["Location"])
    query = "SELECT stored_at IS NOT NULL FROM uploads WHERE id = $1"
    await wait_for(lambda: node.node.pool.fetchval(query, upload), what="the upload to be marked stored")
    await assert_idle(node)


async def test_uploads_land_in_s3(services, tmp_path, moto_endpoint, s3_bucket):
    storage = StorageSettings(s3=s3_settings(moto_endpoint, s3_bucket, multipart_threshold=5 * MIB,
                                             multipart_part_size=5 * MIB))
    async with upload_node(services, tmp_path / "node", storage=storage) as node, \
            aiohttp.ClientSession() as session:
        api = Api(session, node.api, node)
        creator = await api.register(creator=True)
        source = random_file(tmp_path / "upload.bin", 11 * MIB)
        uploader = await asyncio.to_thread(tuspy, node, creator, source, chunk_size=4 * MIB)
        await asyncio.to_thread(uploader.upload)
        video_id = (await head(api, uploader.url, creator))["Tributary-Video-Id"]
        await processing(api, creator, video_id)
        await wait_for(lambda: not node.node.uploads.staging.has(upload_id(uploader.url)),
                       what="the staged bytes to go")
        async with operator_client(moto_endpoint) as client:
            parts = await client.head_object(Bucket=s3_bucket, Key=source_key(video_id), PartNumber=1)
            response = await client.get_object(Bucket=s3_bucket, Key=source_key(video_id))
            async with response["Body"] as body:
                assert await body.read() == source.read_bytes()
        assert parts["PartsCount"] == 3, "11 MiB went up in 5 MiB parts"


def test_upload_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TRIBUTARY_UPLOADS__MAX_SIZE", "1048576")
    monkeypatch.setenv("TRIBUTARY_UPLOADS__EXPIRATION", "3600")
    settings = Settings()
    assert (settings.uploads.max_size, settings.uploads.expiration) == (MIB, 3600.0)
    assert settings.uploads.staging_dir is None, "unset: <data_dir>/uploads"
    for name, value in (("MAX_SIZE", "0"), ("CHUNK_TIMEOUT", "-1"), ("SURPRISE", "1")):
        monkeypatch.setenv(f"TRIBUTARY_UPLOADS__{name}", value)
        with pytest.raises(ValidationError):
            Settings()
        monkeypatch.delenv(f"TRIBUTARY_UPLOADS__{name}")
