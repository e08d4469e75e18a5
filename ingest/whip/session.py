"""One WHIP publish: an aiortc peer connection feeding a LiveInput through the encode thread.

What a session owns, and ends exactly once whatever ends it (DELETE, the peer connection
failing or closing, no media for ``no_media_timeout``, the encoder failing, node shutdown):

* the :class:`RTCPeerConnection` (its ICE/DTLS transports and aiortc's decoder threads);
* one reader task per received track: decoded frame → :class:`SessionClock` → encode thread;
* a watchdog task that ends a session whose media stopped (a client that vanished without
  DELETE: ICE consent freshness would take aiortc ~30 s to notice) or never started;
* the :class:`EncodeWorker` thread;
* the :class:`LiveInput` from ``open_publish``, closed so the packager starts its reconnect
  grace and the node releases the stream's publish lease.

Ending runs in its own task (:meth:`request_close`), so a reader or the watchdog can ask for
it without cancelling itself, and an HTTP handler that is cancelled mid-DELETE does not stop it
half way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, Final

import av
import structlog
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription

from ingest.metrics import PublishMeter, dropped
from ingest.whip.av_clock import Kind, SessionClock
from ingest.whip.encode_worker import EncodeWorker, Output
from ingest.whip.offer import Offer
from ingest.whip.rtp_bytes import count_rtp_bytes
from ingest.whip.sender_reports import TrackPosition, watch_sender_reports
from ingest.whip.trickle import TrickleFragment
from packager.media import AudioConfig, LiveInput, MediaPacket, VideoConfig
from tributary.settings import WhipSettings

log = structlog.get_logger(__name__)

CLOCK_MARGIN: Final = 1.0
"""The session clock's epoch is this long before the session starts, so the AAC encoder's
priming (its first packet starts a frame before the first sample) never has a negative time."""
PC_CLOSE_TIMEOUT: Final = 5.0
ICE_SETTLE: Final = 0.2
"""How long after closing a peer connection whose ICE was still checking to look for the
consent-freshness task aioice may start late (see :func:`_close_peer_connection`)."""


class WhipSession:
    def __init__(
        self,
        offer: Offer,
        live_input: LiveInput,
        settings: WhipSettings,
        *,
        key_digest: bytes,
        peer: str,
        on_end: Callable[[WhipSession], None],
    ) -> None:
        self.id = secrets.token_urlsafe(16)
        self.etag = f'"{secrets.token_urlsafe(12)}"'
        """Strong entity-tag of the ICE session (RFC 9725); constant: no ICE restarts."""
        self.key_digest = key_digest
        self._offer = offer
        self._input = live_input
        self._settings = settings
        self._on_end = on_end
        self._log = log.bind(session=self.id, peer=peer)
        ice_servers = [RTCIceServer(url) for url in settings.stun_servers]
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers))
        self._clock = SessionClock(epoch=time.time() - CLOCK_MARGIN)
        self._encoder: EncodeWorker | None = None
        self._meter: PublishMeter | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing: asyncio.Task[None] | None = None
        self._started = time.monotonic()
        self._last_media = self._started
        self._frames: dict[Kind, int] = {"audio": 0, "video": 0}
        self._video_codec = "none"
        self.ended = False

    async def negotiate(self) -> str:
        """Apply the offer and return the answer, with every local ICE candidate in it."""
        await self._pc.setRemoteDescription(RTCSessionDescription(self._offer.sdp, "offer"))
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        answer: str = self._pc.localDescription.sdp
        video = next(m for m in SessionDescription.parse(answer).media if m.kind == "video")
        self._video_codec = video.rtp.codecs[0].name if video.rtp.codecs else "none"
        return answer

    def start(self) -> None:
        """Start the encode thread, the readers and the watchdog (after :meth:`negotiate`)."""
        self._encoder = EncodeWorker(
            self._settings,
            has_audio=self._offer.has_audio,
            deliver=self._deliver,
            failed=self._encoder_failed,
            name=self.id[:8],
        )
        self._meter = meter = PublishMeter("whip", self._input.stream)
        for transceiver in self._pc.getTransceivers():
            track = transceiver.receiver.track
            kind: Kind = "video" if transceiver.kind == "video" else "audio"
            if track is None:
                continue
            count_rtp_bytes(transceiver.receiver, partial(meter.received, kind))
            position = TrackPosition()
            watch_sender_reports(
                transceiver.receiver,
                position,
                self._offer.rtx_ssrcs,
                partial(self._clock.sender_report, kind),
            )
            self._spawn(self._read(track, kind, position), f"whip-{kind}-{self.id[:8]}")
        self._spawn(self._watch(), f"whip-watchdog-{self.id[:8]}")
        self._pc.on("connectionstatechange", self._connection_state_changed)
        self._log.info("whip.session_started", video=self._video_codec, audio=self._offer.has_audio)

    async def add_candidates(self, fragment: TrickleFragment) -> None:
        """Trickle ICE (RFC 8838): the client's late candidates, all on the bundled transport."""
        for candidate in fragment.candidates:
            for mid in self._offer.transport_mids:
                await self._pc.addIceCandidate(dataclasses.replace(candidate, sdpMid=mid))
        if fragment.end_of_candidates:
            await self._pc.addIceCandidate(None)

    def is_ice_restart(self, fragment: TrickleFragment) -> bool:
        return fragment.ufrag is not None and fragment.ufrag != self._offer.ice_ufrag

    def request_close(self, reason: str) -> asyncio.Task[None]:
        """End the session (once); returns the task doing it."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(
                self._close(reason), name=f"whip-close-{self.id[:8]}"
            )
        return self._closing

    async def close(self, reason: str) -> None:
        """End the session and wait until everything it owns is released."""
        await asyncio.shield(self.request_close(reason))

    # ---------------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, track: MediaStreamTrack, kind: Kind, position: TrackPosition) -> None:
        encoder = self._encoder
        assert encoder is not None
        try:
            while True:
                frame = await track.recv()
                arrival = time.time()
                self._last_media = time.monotonic()
                if frame.pts is None or frame.time_base is None:
                    dropped("whip", "no_timestamp")
                    continue
                position.ticks, position.rate = frame.pts, round(1 / frame.time_base)
                self._frames[kind] += 1
                at = self._clock.place(kind, float(frame.pts * frame.time_base), arrival)
                # A frame that A/V alignment places later than it arrived (video waiting for its
                # audio) counts as received when the session clock reaches it, so the packager's
                # PROGRAM-DATE-TIME anchor (the earliest received - media) means the same thing
                # whenever the sender reports come in.
                received = max(arrival, self._clock.wallclock(at))
                if isinstance(frame, av.VideoFrame):
                    encoder.video(frame, at, received)
                elif isinstance(frame, av.AudioFrame):
                    encoder.audio(frame, at, received)
        except MediaStreamError:
            self.request_close(f"{kind} track ended")

    async def _watch(self) -> None:
        timeout = self._settings.no_media_timeout
        while (idle := time.monotonic() - self._last_media) < timeout:
            await asyncio.sleep(timeout - idle)
        self.request_close("no media" if any(self._frames.values()) else "no media ever arrived")

    def _connection_state_changed(self) -> None:
        state = self._pc.connectionState
        if state in ("failed", "closed"):
            self.request_close(f"connection {state}")

    def _deliver(self, outputs: list[Output]) -> None:
        """On the loop: the encode thread's output, in order, to the packager."""
        if self.ended:
            return
        for output in outputs:
            if isinstance(output, MediaPacket):
                self._input.on_packet(output)
            elif isinstance(output, VideoConfig):
                self._input.on_video_config(output)
            elif isinstance(output, AudioConfig):
                self._input.on_audio_config(output)

    def _encoder_failed(self, exc: BaseException) -> None:
        self._log.error("whip.encode_failed", error=repr(exc))
        self.request_close("encoder failed")

    async def _close(self, reason: str) -> None:
        try:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.ended = True
            if self._encoder is not None:
                await self._encoder.stop()
            self._input.close()
            try:
                async with asyncio.timeout(PC_CLOSE_TIMEOUT):
                    await _close_peer_connection(self._pc)
            except TimeoutError:
                self._log.warning("whip.peer_connection_close_timeout")
        finally:
            self.ended = True
            if self._meter is not None:
                self._meter.close()
            self._on_end(self)
        self._log.info(
            "whip.session_ended",
            reason=reason,
            seconds=round(time.monotonic() - self._started, 1),
            video_frames=self._frames["video"],
            audio_frames=self._frames["audio"],
            video_drops=self._encoder.video_counts if self._encoder else None,
            silence_filled=round(self._encoder.filled_audio, 2) if self._encoder else 0,
            av_offset=None if (offset := self._clock.av_offset) is None else round(offset, 3),
        )


async def _close_peer_connection(pc: RTCPeerConnection) -> None:
    """``pc.close()``, plus a workaround for an aioice race that would leak a task forever.

    aioice's ``Connection.connect()`` polls its check list every 20 ms; when ICE completes and
    ``close()`` runs before the next poll (a client that DELETEs right after connecting),
    ``close()`` finds no consent task to cancel and ``connect()`` then starts one on the closed
    connection, which loops forever (its pair list was cleared, so it never fails). So: note
    which ICE transports were still checking, close, give ``connect()`` time to return, and
    cancel what it started. ``RTCIceTransport._connection`` and the task are private to
    aiortc/aioice (1.x / 0.x); missing attributes make this a no-op.
    """
    checking = {
        transceiver.receiver.transport.transport
        for transceiver in pc.getTransceivers()
        if transceiver.receiver.transport.transport.state == "checking"
    }
    await pc.close()
    if not checking:
        return
    await asyncio.sleep(ICE_SETTLE)
    for transport in checking:
        task = getattr(getattr(transport, "_connection", None), "_query_consent_task", None)
        if isinstance(task, asyncio.Task) and not task.done():
            task.cancel()
