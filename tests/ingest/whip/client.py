"""aiortc as a WHIP client (what a non-browser publisher does): offer with every candidate,
POST, apply the answer; DELETE to stop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from multidict import CIMultiDict
from yarl import URL


@dataclass
class Answer:
    status: int
    headers: CIMultiDict[str]
    body: str


@dataclass
class WhipClient:
    http: aiohttp.ClientSession
    endpoint: str
    key: str
    tracks: list[MediaStreamTrack]
    video_codec: str | None = None
    pc: RTCPeerConnection = field(init=False)
    resource: str | None = None
    etag: str | None = None

    def __post_init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for track in self.tracks:
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            if track.kind == "video" and self.video_codec is not None:
                capabilities = RTCRtpSender.getCapabilities("video")
                assert capabilities is not None
                preferred = [c for c in capabilities.codecs if c.name == self.video_codec]
                transceiver.setCodecPreferences(preferred + [c for c in capabilities.codecs if c not in preferred])

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def publish(self) -> Answer:
        """POST the offer; on 201 apply the answer (media starts flowing)."""
        sdp = await self.offer()
        headers = {"Content-Type": "application/sdp", "Authorization": f"Bearer {self.key}"}
        async with self.http.post(self.endpoint, data=sdp, headers=headers) as resp:
            answer = Answer(resp.status, CIMultiDict(resp.headers), await resp.text())
        if answer.status == 201:
            self.resource = str(resp.url.join(URL(answer.headers["Location"])))
            self.etag = answer.headers["ETag"]
            await self.pc.setRemoteDescription(RTCSessionDescription(answer.body, "answer"))
        return answer

    async def delete(self) -> int:
        assert self.resource is not None
        async with self.http.delete(self.resource, headers={"Authorization": f"Bearer {self.key}"}) as resp:
            status = resp.status
        await self.close()
        return status

    async def close(self) -> None:
        """Close the peer connection once ICE is not checking: closing aioice in the middle of
        it can leave a task behind (see ``ingest.whip.session._close_peer_connection``), and
        this client must not pollute the server's leak checks."""
        for _ in range(100):
            if self.pc.iceConnectionState != "checking":
                break
            await asyncio.sleep(0.05)
        await self.pc.close()


async def sample_offer(*, audio: bool = True) -> str:
    """A real aiortc offer (camera, and microphone unless ``audio=False``), its peer closed."""
    from tests.ingest.whip.synthetic import BeepMicrophone, FlashCamera

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(FlashCamera(), direction="sendonly")
    if audio:
        pc.addTransceiver(BeepMicrophone(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp
