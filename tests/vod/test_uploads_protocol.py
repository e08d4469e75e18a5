"""The tus endpoints against garbage, truncated, oversized and hostile input: every answer a clear
error in the API's shape, with tus and CORS headers; nothing of a refused request kept; no task
or open file left behind; and an honest upload going on meanwhile is not disturbed."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from multidict import CIMultiDict
from structlog.testing import capture_logs

from catalog.access import Role
from tests.support.api_client import Account, Answer, Api, api_for
from tests.support.nodes import RunningNode
from tests.support.uploads import (
    MIB,
    OCTETS,
    TUS,
    RawRequest,
    create,
    metadata_header,
    open_staged_files,
    patch,
    random_file,
    tus,
    tuspy,
    upload_id,
    upload_node,
    upload_tasks,
    wait_for,
)
from vod.storage import check_key
from vod.uploads import source_key

MAX_SIZE = MIB
TITLE = metadata_header({"title": "Hostile"})


@pytest.fixture(scope="module")
async def node(services, tmp_path_factory) -> AsyncIterator[RunningNode]:
    data_dir = tmp_path_factory.mktemp("tus")
    async with upload_node(services, data_dir, max_size=MAX_SIZE, chunk_timeout=1.0, sweep_interval=3600) as running:
        yield running


@pytest.fixture
async def api(node) -> AsyncIterator[Api]:
    async with api_for(node) as api:
        yield api


@pytest.fixture
async def creator(api) -> Account:
    return await api.register(creator=True)


@pytest.fixture(autouse=True)
async def clean_answers_and_nothing_left(node) -> AsyncIterator[None]:
    with capture_logs() as logs:
        yield
        await wait_for(lambda: not upload_tasks() and not open_staged_files(node), what="uploads to settle")
    crashes = [entry for entry in logs if entry["event"] in ("api.unexpected_error", "upload.transfer_failed")]
    assert not crashes, crashes


def assert_error(answer: Answer, status: int, code: str | None = None) -> None:
    """A refusal: the status, the API's error shape, and headers a browser client can read."""
    assert answer.status == status, answer
    assert answer.headers["Tus-Resumable"] == "1.0.0"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.headers["Cache-Control"] == "no-store"
    if code is not None:
        assert isinstance(answer.body, dict) and answer.body["error"] == code, answer.body
        assert answer.body["detail"]


async def new_upload(api: Api, node: RunningNode, account: Account, length: int = 1000) -> str:
    created = await create(api.session, node, account, length)
    assert created.status == 201, created
    return created.headers["Location"]


async def offset_of(api: Api, url: str, account: Account) -> int:
    answer = await tus(api.session, "HEAD", url, account=account)
    assert answer.status == 200, answer
    return int(answer.headers["Upload-Offset"])


async def with_multi_headers(api: Api, method: str, url: str, account: Account,
                             pairs: list[tuple[str, str]], data: bytes | None = None) -> Answer:
    """A request whose headers repeat (dicts cannot say that)."""
    headers = CIMultiDict([*TUS.items(), *account.auth.items(), *pairs])
    async with api.session.request(method, url, headers=headers, data=data) as response:
        raw = await response.read()
        body = json.loads(raw) if raw and response.content_type == "application/json" else raw
        return Answer(response.status, body, dict(response.headers))


def patch_headers(account: Account, offset: int, **extra: str) -> dict[str, str]:
    return {**OCTETS, **account.auth, "Upload-Offset": str(offset), **extra}


def test_source_keys_are_storage_keys():
    """Public ids may start with - or _, which cannot start a storage key segment."""
    for public_id in ("-abcdefghij", "_abcdefghij", "abcdefghijk"):
        assert check_key(source_key(public_id))


async def test_discovery_needs_no_version_and_no_login(node, api):
    for url in (f"{node.api}/uploads", f"{node.api}/uploads/anything"):
        async with api.session.options(url, headers={"Origin": "http://elsewhere.example",
                                                     "Access-Control-Request-Method": "PATCH"}) as response:
            headers = response.headers
            assert response.status == 204
        assert headers["Tus-Version"] == "1.0.0"
        assert set(headers["Tus-Extension"].split(",")) == {
            "creation", "creation-with-upload", "termination", "checksum", "expiration"}
        assert headers["Tus-Max-Size"] == str(MAX_SIZE)
        assert set(headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "md5", "sha256"}
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert "PATCH" in headers["Access-Control-Allow-Methods"]
        allowed = {name.strip().lower() for name in headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "upload-offset", "upload-length", "upload-metadata", "tus-resumable"} <= allowed
        exposed = {name.strip().lower() for name in headers["Access-Control-Expose-Headers"].split(",")}
        assert {"location", "upload-offset", "upload-expires", "tributary-video-id"} <= exposed


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0.0, 0.2.2", "1.0", "garbage", ""])
async def test_other_protocol_versions_get_412(node, api, creator, version):
    url = await new_upload(api, node, creator)
    headers = {} if version is None else {"Tus-Resumable": version}
    for method, target in (("POST", f"{node.api}/uploads"), ("HEAD", url), ("PATCH", url), ("DELETE", url)):
        async with api.session.request(method, target, headers={**creator.auth, **headers}) as response:
            raw = await response.read()
            answer = Answer(response.status, json.loads(raw) if raw else None, dict(response.headers))
        assert_error(answer, 412, None if method == "HEAD" else "unsupported_version")
        assert answer.headers["Tus-Version"] == "1.0.0"
    assert await offset_of(api, url, creator) == 0, "nothing was done"


async def test_creation_is_for_creators(node, api):
    viewer = await api.register()
    anonymous = await tus(api.session, "POST", f"{node.api}/uploads",
                          headers={"Upload-Length": "10", "Upload-Metadata": TITLE})
    assert_error(anonymous, 401, "authentication_required")
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    forged = await tus(api.session, "POST", f"{node.api}/uploads",
                       headers={"Authorization": "Bearer not.a.token", "Upload-Length": "10", "Upload-Metadata": TITLE})
    assert_error(forged, 401, "invalid_token")
    assert_error(await create(api.session, node, viewer, 10), 403, "forbidden")


@pytest.mark.parametrize("value", [
    "-1", "abc", "1.5", "1e3", "+5", "0x10", "٣", "1 000", "99999999999999999999", "9223372036854775808",
])
async def test_upload_lengths_that_are_not_sizes(node, api, creator, value):
    assert_error(await create(api.session, node, creator, 0, headers={"Upload-Length": value}), 400, "invalid_header")


async def test_upload_length_rules(node, api, creator):
    assert_error(await tus(api.session, "POST", f"{node.api}/uploads", account=creator,
                           headers={"Upload-Metadata": TITLE}), 400, "missing_header")
    assert_error(await create(api.session, node, creator, 0), 400, "empty_upload")
    for too_big in (MAX_SIZE + 1, 2**63 - 1):
        answer = await create(api.session, node, creator, too_big)
        assert_error(answer, 413, "upload_too_large")
        assert answer.headers["Tus-Max-Size"] == str(MAX_SIZE)
    repeated = await with_multi_headers(api, "POST", f"{node.api}/uploads", creator,
                                        [("Upload-Length", "5"), ("Upload-Length", "6"), ("Upload-Metadata", TITLE)])
    assert_error(repeated, 400, "invalid_header")
    for unsupported in ({"Upload-Defer-Length": "1"}, {"Upload-Concat": "partial"}):
        assert_error(await create(api.session, node, creator, 10, headers=unsupported), 400, "unsupported_extension")
    listed = await api.call("GET", f"/channels/{creator.channel}/videos", account=creator)
    assert listed.body["items"] == [], "no refused creation made a video"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(("metadata", "status"), [
    ("title", 422),  # a key alone: an empty title
    (f"filename {b64(b'a.mp4')}", 422),  # no title
    ("title !!!!", 400),
    ("title dGl0bGU", 400),  # Base64 without its padding
    (f"title {b64(bytes([0xFF, 0xFE]))}", 400),  # not UTF-8
    (f"title {b64(b'a' + bytes(1) + b'b')}", 400),  # NUL
    (f"title {b64(bytes([0xED, 0xA0, 0x80]))}", 400),  # a UTF-16 surrogate in UTF-8's clothes
    (f"title {b64(b'one')},title {b64(b'two')}", 400),
    (f",title {b64(b'x')}", 400),
    (f"ti tle {b64(b'x')}", 400),
    (f"t\u00eftle {b64(b'x')}", 400),
    (",".join(f"k{n} {b64(b'v')}" for n in range(33)) + f",title {b64(b'x')}", 400),
    (f"title {b64(b'x' * 201)}", 422),
    (f"title {b64(b'line one' + bytes([10]) + b'line two')}", 422),
    (f"title {b64(b'x')},privacy {b64(b'secret')}", 422),
    (f"title {b64(b'x')},description {b64(bytes([1]))}", 422),
    (f"title {b64(b'x')},filename {b64(b'y' * 256)}", 422),
])
async def test_metadata_that_is_refused(node, api, creator, metadata, status):
    answer = await create(api.session, node, creator, 10, headers={"Upload-Metadata": metadata})
    assert_error(answer, status, "invalid_header" if status == 400 else "validation_error")
    if status == 422:
        assert all(detail["loc"][0] == "Upload-Metadata" and "input" not in detail for detail in answer.body["detail"])


async def test_metadata_with_more_than_the_video_needs(node, api, creator):
    sent = (f"title {b64('Ünïcode ✓'.encode())},relativePath,privacy {b64(b'unlisted')},"
            f"description {b64(b'two' + bytes([10]) + b'lines')},name {b64(b'clip.mp4')}")
    created = await create(api.session, node, creator, 10, headers={"Upload-Metadata": sent})
    assert created.status == 201, created
    head = await tus(api.session, "HEAD", created.headers["Location"], account=creator)
    echoed = dict(pair.partition(" ")[::2] for pair in head.headers["Upload-Metadata"].split(","))
    assert base64.b64decode(echoed["title"]).decode() == "Ünïcode ✓" and echoed["relativePath"] == ""
    video = await api.call("GET", f"/videos/{created.headers['Tributary-Video-Id']}", account=creator)
    assert (video.body["title"], video.body["privacy"], video.body["description"]) == (
        "Ünïcode ✓", "unlisted", "two\nlines")


async def test_a_header_past_the_http_parser_limit(node, api, creator):
    answer = await create(api.session, node, creator, 10, headers={"Upload-Metadata": "title " + "A" * 10_000})
    assert answer.status == 400  # aiohttp's own answer, before any of ours
    assert (await create(api.session, node, creator, 10)).status == 201, "the node goes on"


async def test_creation_with_upload(node, api, creator):
    body = b"0123456789"
    whole = await create(api.session, node, creator, 10, data=body)
    assert (whole.status, whole.headers["Upload-Offset"]) == (201, "10")
    part = await create(api.session, node, creator, 20, data=body)
    assert (part.status, part.headers["Upload-Offset"]) == (201, "10")
    assert "Upload-Expires" in part.headers and "Upload-Expires" not in whole.headers
    sha1 = {"Upload-Checksum": f"sha1 {b64(hashlib.sha1(b'other').digest())}"}
    mismatch = await create(api.session, node, creator, 20, data=body, headers=sha1)
    assert_error(mismatch, 460, "checksum_mismatch")
    assert await offset_of(api, mismatch.headers["Location"], creator) == 0, "made, with none of the body"
    refused = [
        (await create(api.session, node, creator, 20, data=body, headers={"Content-Type": "text/plain"}), 415),
        (await create(api.session, node, creator, 5, data=body), 413),
        (await create(api.session, node, creator, 20, data=body, headers={"Upload-Checksum": "crc32 AAAAAA=="}), 400),
    ]
    for answer, status in refused:
        assert_error(answer, status)
        assert "Location" not in answer.headers, "refused before anything was made"


@pytest.mark.parametrize("value", ["", "-1", "abc", "1.0", "٣", "99999999999999999999", " 0x0"])
async def test_offsets_that_are_not_sizes(node, api, creator, value):
    url = await new_upload(api, node, creator)
    assert_error(await patch(api.session, url, creator, 0, b"x", {"Upload-Offset": value}), 400, "invalid_header")


async def test_patch_header_rules(node, api, creator):
    url = await new_upload(api, node, creator)
    for content_type in ("application/octet-stream", "text/plain", "multipart/form-data; boundary=x"):
        answer = await patch(api.session, url, creator, 0, b"x", {"Content-Type": content_type})
        assert_error(answer, 415, "unsupported_media_type")
        assert answer.headers["Accept-Patch"] == "application/offset+octet-stream"
    missing = await tus(api.session, "PATCH", url, account=creator,
                        headers={"Content-Type": "application/offset+octet-stream"}, data=b"x")
    assert_error(missing, 400, "missing_header")
    repeated = await with_multi_headers(api, "PATCH", url, creator, [
        ("Content-Type", "application/offset+octet-stream"), ("Upload-Offset", "0"), ("Upload-Offset", "0")], b"x")
    assert_error(repeated, 400, "invalid_header")
    ahead = await patch(api.session, url, creator, 5, b"x")
    assert_error(ahead, 409, "offset_mismatch")
    assert ahead.headers["Upload-Offset"] == "0"
    assert (await patch(api.session, url, creator, 0, b"y" * 100)).headers["Upload-Offset"] == "100"
    behind = await patch(api.session, url, creator, 0, b"x")
    assert_error(behind, 409, "offset_mismatch")
    assert behind.headers["Upload-Offset"] == "100"
    for checksum, code in (("crc32 AAAAAA==", "unsupported_checksum_algorithm"), ("sha1", "invalid_header"),
                           ("sha1 !!!!", "invalid_header"), (f"sha1 {b64(bytes(19))}", "invalid_header"),
                           (f"md5 {b64(bytes(20))}", "invalid_header"), ("sha1 a b", "invalid_header")):
        answer = await patch(api.session, url, creator, 100, b"x", {"Upload-Checksum": checksum})
        assert_error(answer, 400, code)
    assert await offset_of(api, url, creator) == 100


async def test_compressed_bodies_are_refused(node, api, creator):
    """Offsets count the file's bytes: a compressed body (a bomb, say) is refused unread. Broken
    compressed data aiohttp may refuse itself first (a plain 400), before any handler runs."""
    url = await new_upload(api, node, creator, 1000)
    for encoding, body in (("gzip", gzip.compress(bytes(10_000_000))), ("made-up", b"x")):
        answer = await patch(api.session, url, creator, 0, body, {"Content-Encoding": encoding})
        assert_error(answer, 415, "unsupported_content_encoding")
    for encoding, body in (("gzip", b"not gzip"), ("deflate", b"x")):
        answer = await patch(api.session, url, creator, 0, body, {"Content-Encoding": encoding})
        assert answer.status in (400, 415), answer
    assert await offset_of(api, url, creator) == 0
    assert (await patch(api.session, url, creator, 0, b"x", {"Content-Encoding": "identity"})).status == 204


async def test_bodies_past_the_upload_length(node, api, creator):
    url = await new_upload(api, node, creator, 100)
    assert_error(await patch(api.session, url, creator, 0, b"x" * 101), 413, "past_upload_length")

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield b"z" * 10

    assert_error(await patch(api.session, url, creator, 0, chunked()), 413, "past_upload_length")
    assert await offset_of(api, url, creator) == 0
    staged = node.node.uploads.staging.path(upload_id(url))
    assert staged.stat().st_size == 0, "nothing of a refused body is kept"
    assert (await patch(api.session, url, creator, 0, b"x" * 100)).status == 204
    assert (await patch(api.session, url, creator, 100, b"")).status == 204, "an empty body at the end is harmless"
    assert_error(await patch(api.session, url, creator, 100, b"x"), 413, "past_upload_length")


async def test_broken_chunked_framing(node, api, creator):
    """Malformed HTTP is aiohttp's to judge: framing broken before the request is whole is its
    plain 400 before any of ours; broken later, the body stalls, is cut off after chunk_timeout,
    and what arrived before the damage is kept, as for a dropped connection."""
    url = await new_upload(api, node, creator)
    headers = patch_headers(creator, 0, **{"Transfer-Encoding": "chunked"})
    at_once = await RawRequest.open(node, "PATCH", url, headers)
    await at_once.send(b"10\r\n" + b"a" * 16 + b"\r\nzz\r\n")
    assert (await asyncio.wait_for(at_once.reader.readline(), 10)).startswith(b"HTTP/1.0 400 Bad Request")
    await at_once.close()
    assert await offset_of(api, url, creator) == 0

    later = await RawRequest.open(node, "PATCH", url, headers)
    await later.send(b"10\r\n" + b"a" * 16 + b"\r\n")
    await asyncio.sleep(0.3)  # the good chunk is parsed on its own before the damage arrives
    await later.send(b"zz\r\n")
    status, _, body = await later.answer()
    await later.close()
    assert (status, body["error"]) == (408, "body_timeout")
    assert await offset_of(api, url, creator) == 16


async def test_a_silent_body_is_cut_off_and_what_arrived_is_kept(node, api, creator):
    url = await new_upload(api, node, creator)
    request = await RawRequest.open(node, "PATCH", url, patch_headers(creator, 0, **{"Content-Length": "1000"}))
    await request.send(b"s" * 300)
    status, headers, body = await request.answer(timeout=10)  # chunk_timeout is 1 s
    await request.close()
    assert (status, body["error"], headers["Connection"]) == (408, "body_timeout", "close")
    assert await offset_of(api, url, creator) == 300


async def test_one_body_at_a_time(node, api, creator):
    url = await new_upload(api, node, creator)
    first = await RawRequest.open(node, "PATCH", url, patch_headers(creator, 0, **{"Content-Length": "1000"}))
    await first.send(b"1" * 100)
    staged = node.node.uploads.staging.path(upload_id(url))
    await wait_for(lambda: staged.exists(), what="the first body to start")
    assert_error(await patch(api.session, url, creator, 0, b"2" * 1000), 423, "upload_locked")
    assert_error(await tus(api.session, "DELETE", url, account=creator), 423, "upload_locked")
    assert await offset_of(api, url, creator) == 0, "HEAD answers meanwhile, with the committed offset"
    await first.send(b"1" * 900)
    status, headers, _ = await first.answer()
    await first.close()
    assert (status, headers["Upload-Offset"]) == (204, "1000")
    assert staged.read_bytes() == b"1" * 1000 or not staged.exists()  # handed on once complete


async def test_racing_patches_commit_once(node, api, creator):
    url = await new_upload(api, node, creator, 10_000)
    bodies = [bytes([n]) * 10_000 for n in range(6)]
    answers = await asyncio.gather(*(patch(api.session, url, creator, 0, body) for body in bodies))
    assert [answer.status for answer in answers].count(204) == 1
    assert all(answer.status in (204, 409, 423) for answer in answers), answers


async def test_someone_elses_upload_is_not_found(node, api, creator):
    url = await new_upload(api, node, creator)
    other = await api.register(creator=True)
    viewer = await api.register()
    for stranger in (other, viewer):
        assert_error(await tus(api.session, "HEAD", url, account=stranger), 404)
        assert_error(await patch(api.session, url, stranger, 0, b"x"), 404, "not_found")
        assert_error(await tus(api.session, "DELETE", url, account=stranger), 404, "not_found")
    assert_error(await tus(api.session, "HEAD", url), 401)
    assert_error(await patch(api.session, url, None, 0, b"x"), 401, "authentication_required")  # type: ignore[arg-type]
    admin = await api.register()
    await api.set_role(admin, Role.ADMIN)
    assert (await tus(api.session, "HEAD", url, account=admin)).status == 200, "admins manage everything"
    for bad_id in ("AAAAAAAAAAAAAAAAAAAAAA", "short", "x" * 300, "..%2F..%2Fetc", "%00", "a%20b", "%2e%2e"):
        answer = await tus(api.session, "HEAD", f"{node.api}/uploads/{bad_id}", account=creator)
        assert answer.status in (404, 400), (bad_id, answer)
    assert await offset_of(api, url, creator) == 0


async def test_an_expired_upload_is_gone(node, api, creator):
    url = await new_upload(api, node, creator)
    assert (await patch(api.session, url, creator, 0, b"x" * 10)).status == 204
    await node.node.pool.execute("UPDATE uploads SET expires_at = now() - interval '1 second' WHERE id = $1",
                                 upload_id(url))
    assert_error(await tus(api.session, "HEAD", url, account=creator), 410)
    assert_error(await patch(api.session, url, creator, 10, b"x"), 410, "upload_expired")
    assert (await tus(api.session, "DELETE", url, account=creator)).status == 204, "termination still works"
    assert_error(await tus(api.session, "HEAD", url, account=creator), 404)


async def test_method_override(node, api, creator):
    url = await new_upload(api, node, creator, 20)
    override = {"Content-Type": "application/offset+octet-stream"}
    patched = await tus(api.session, "POST", url, account=creator, data=b"x" * 10,
                        headers={**override, "X-HTTP-Method-Override": "PATCH", "Upload-Offset": "0"})
    assert (patched.status, patched.headers["Upload-Offset"]) == (204, "10")
    headed = await tus(api.session, "POST", url, account=creator, headers={"X-HTTP-Method-Override": "HEAD"})
    assert (headed.status, headed.headers["Upload-Offset"]) == (200, "10")
    for method in ("GET", "PUT", "POST", ""):
        answer = await tus(api.session, "POST", url, account=creator, headers={"X-HTTP-Method-Override": method})
        assert_error(answer, 405, "method_not_allowed")
    deleted = await tus(api.session, "POST", url, account=creator, headers={"X-HTTP-Method-Override": "DELETE"})
    assert deleted.status == 204
    assert_error(await tus(api.session, "HEAD", url, account=creator), 404)


async def test_an_honest_upload_goes_on_among_hostile_ones(node, api, creator, tmp_path):
    """Another creator throws garbage at their own upload, at the server, and at the honest
    upload's URL (which is not theirs: 404, and it never locks the upload)."""
    source = random_file(tmp_path / "honest.bin", MAX_SIZE)
    uploader = await asyncio.to_thread(tuspy, node, creator, source, chunk_size=64 * 1024, upload_checksum=True)
    honest = asyncio.create_task(asyncio.to_thread(uploader.upload))
    await wait_for(lambda: uploader.url, what="the honest upload to be created")
    mallory = await api.register(creator=True)
    url = await new_upload(api, node, mallory)
    hostile: list[Any] = []
    for round_ in range(20):
        hostile += [
            patch(api.session, url, mallory, round_ + 5, b"x"),
            patch(api.session, url, mallory, 0, b"x" * 2000),
            create(api.session, node, mallory, MAX_SIZE * 2),
            create(api.session, node, mallory, 10, headers={"Upload-Metadata": "title !!"}),
            tus(api.session, "HEAD", f"{node.api}/uploads/{'A' * 22}", account=mallory),
            patch(api.session, uploader.url, mallory, 0, b"z", {"Upload-Checksum": "sha1 AAAA"}),
            patch(api.session, uploader.url, mallory, 0, b"z"),
            tus(api.session, "DELETE", uploader.url, account=mallory),
        ]
    answers = await asyncio.gather(*hostile)
    assert all(400 <= answer.status < 500 for answer in answers), [a.status for a in answers]
    await asyncio.wait_for(honest, 60)
    video_id = (await tus(api.session, "HEAD", uploader.url, account=creator)).headers["Tributary-Video-Id"]

    async def processing() -> bool:
        return (await api.call("GET", f"/videos/{video_id}", account=creator)).body["status"] == "processing"

    await wait_for(processing, what="the honest upload to be handed on")
