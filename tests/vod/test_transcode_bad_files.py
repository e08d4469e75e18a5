"""Uploads that are not playable videos end ``failed`` with a reason their owner can read, keep
their raw file and leave no outputs; a good upload transcoded at the same time is unaffected.

Every file is uploaded and transcoded at once (``outcomes``, once for the module), as a worker
with several jobs would; each test then checks one of them.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.support.api_client import Api, api_for
from tests.support.ffmpeg import Source, make_file
from tests.support.llhls import fetch
from tests.support.transcodes import transcode_deps, uploaded
from vod.transcode.pipeline import output_prefix, transcode_video

CLIP = Source(seconds=3, width=320, height=180, realtime=False)


def png_image() -> bytes:
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 180, "rgb24"
    encoder.time_base = Fraction(1, 1)
    picture = av.VideoFrame.from_ndarray(np.full((180, 320, 3), 90, np.uint8), format="rgb24")
    return b"".join(bytes(packet) for packet in [*encoder.encode(picture), *encoder.encode(None)])


async def mp4(directory: Path, source: Source = CLIP, *, faststart: bool = True) -> bytes:
    path = directory / f"clip-{faststart}-{source.video}.mp4"
    await make_file(path, source, faststart=faststart)
    return path.read_bytes()


async def cut_in_half(directory: Path, *, faststart: bool) -> bytes:
    data = await mp4(directory, faststart=faststart)
    return data[: len(data) // 2]


async def scrambled(directory: Path) -> bytes:
    """The clip with its index intact (at the front) and its media overwritten here and there."""
    data = bytearray(await mp4(directory))
    chance = random.Random(7)
    for at in range(len(data) // 4, len(data), 499):
        data[at] = chance.randrange(256)
    return bytes(data)


async def constant(data: bytes) -> bytes:
    return data


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], Awaitable[bytes]]
    reason: str
    """A regular expression the failure reason must match in full."""


CASES = {
    "png image": Case(lambda d: constant(png_image()), re.escape("this is a PNG image, not a video")),
    "text file": Case(
        lambda d: constant("Hochzeit 2024, Schnitt v3 — bitte bis Freitag!\n".encode() * 20),
        re.escape("this is a text file, not a video"),
    ),
    "truncated mp4": Case(
        lambda d: cut_in_half(d, faststart=True),
        r"the file ends early \(truncated at 1\.\d s of 3\.0 s\)",
    ),
    "truncated mp4 without its index": Case(
        lambda d: cut_in_half(d, faststart=False),
        re.escape("the file is incomplete: it begins like an MP4 video but ends before its index "
                  "(the moov box), so it was probably cut off while uploading"),
    ),
    "corrupt bytes": Case(
        lambda d: constant(random.Random(3).randbytes(300_000)),
        re.escape("the file is not in a video format we recognise (it may be damaged, or not a video)"),
    ),
    "damaged mp4": Case(
        scrambled, r"the video is damaged: its pictures do not decode cleanly from 0\.\d s on"
    ),
    "audio only": Case(
        lambda d: mp4(d, Source(seconds=3, video=False, realtime=False)),
        re.escape("the file has sound but no picture: it is audio only, not a video"),
    ),
    "zero bytes": Case(lambda d: constant(b""), re.escape("the file is empty")),
}


@dataclass(frozen=True)
class Upload:
    video_id: str
    raw_key: str
    data: bytes


@dataclass(frozen=True)
class Outcomes:
    api: Api
    bad: dict[str, Upload]
    good: Upload


@pytest.fixture(scope="module")
async def outcomes(vod_node, tmp_path_factory) -> AsyncIterator[Outcomes]:
    directory = tmp_path_factory.mktemp("bad-files")
    async with api_for(vod_node) as api:
        owner = await api.register(creator=True)
        made = [await case.make(directory) for case in CASES.values()] + [await mp4(directory)]
        ids = [await uploaded(api, owner, data, name) for name, data in zip([*CASES, "good"], made)]
        uploads = [Upload(video_id, raw_key, data) for (video_id, raw_key), data in zip(ids, made)]
        deps = transcode_deps(vod_node, directory / "work")
        await asyncio.gather(*(transcode_video(deps, u.video_id, u.raw_key) for u in uploads))
        yield Outcomes(api, dict(zip(CASES, uploads[:-1])), uploads[-1])


@pytest.mark.parametrize("case", CASES)
async def test_a_bad_file_fails_with_its_reason_and_keeps_its_upload(outcomes, vod_node, case):
    upload = outcomes.bad[case]
    api = outcomes.api
    owner = api.accounts[0]
    status = (await api.call("GET", f"/videos/{upload.video_id}/status", account=owner)).body
    assert status["status"] == "failed" and status["eta"] is None
    assert re.fullmatch(CASES[case].reason, status["failure_reason"]), status["failure_reason"]

    storage = vod_node.node.storage
    assert await storage.get(upload.raw_key) == upload.data, "the upload is kept for inspection"
    assert await storage.list(output_prefix(upload.video_id) + "/") == []
    assert (await api.call("GET", f"/videos/{upload.video_id}/thumbnails", account=owner)).body == []
    playback = await fetch(api.session, f"{vod_node.http}/vod/{upload.video_id}/master.m3u8")
    assert playback.status == 404


async def test_a_good_upload_next_to_them_becomes_ready(outcomes, vod_node):
    api = outcomes.api
    video = (await api.call("GET", f"/videos/{outcomes.good.video_id}", account=api.accounts[0])).body
    assert video["status"] == "ready"
    assert video["duration_seconds"] == pytest.approx(CLIP.seconds, abs=0.05)
    master = await fetch(api.session, video["playback_url"])
    assert master.status == 200 and b"180p/index.m3u8" in master.body
