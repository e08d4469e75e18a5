"""The chat server: python-socketio on aiohttp at ``/socket.io``, joined to every other chat
node through Redis (``AsyncRedisManager``), so an emit to a room reaches its clients on all
nodes.

This module owns connections: who they are (the catalog's access token in the ``auth``
payload; none: read only), their event budget, and the guard every event passes through
(budget, strict parsing, one error shape). What events do is in :mod:`chat.room_events` and
:mod:`chat.moderation.actions`.

Clients that stop reading are the one thing Socket.IO does not bound: packets for them wait
in an unbounded queue, and a heartbeat answered blindly keeps the connection alive. A
watchdog drops any connection whose queue passes ``max_queued_packets``, aborting its TCP
connection (a graceful close would wait on the very buffer that is full).

Input is vetted before the libraries act on it (:mod:`chat.packets`, :meth:`ChatServer._message`),
since both libraries trust clients more than a server on the internet can.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import asyncpg
import redis.asyncio as redis
import socketio
import structlog
from aiohttp import web
from socketio import packet

from catalog.access_tokens import AccessTokens, InvalidAccessToken
from catalog.accounts import Accounts
from catalog.subscriptions import Subscriptions
from chat import events, metrics, room_events
from chat.clients import ChatClient
from chat.context import ChatContext
from chat.history import LiveHistory
from chat.moderation import actions
from chat.moderation.flood import EventBudget
from chat.moderation.room_rules import RoomRuleStore
from chat.moderation.sanctions import Sanctions
from chat.moderation.send_limits import SendLimits
from chat.moderation.word_filter import ProfanityMask
from chat.pins import LivePins
from chat.presence import Presence
from chat.packets import BadPacket, ChatPacket, EngineWebSocket
from chat.refusals import Refused, bad_request
from chat.rooms import RoomDirectory
from chat.video_comments import VideoComments
from tributary.settings import ChatSettings

log = structlog.get_logger(__name__)

PATH = "/socket.io/"
CHANNEL = "tributary:chat:socketio"
"""The Redis pub/sub channel every chat node shares."""
_WATCHDOG_SECONDS = 1.0
_MAX_TOKEN_CHARS = 4096
_FLOOD = Refused("flood", "too many events; slow down", retry_after=1)

Action = Callable[[ChatClient, Any], Awaitable[dict[str, Any]]]


class ChatServer:
    def __init__(
        self,
        settings: ChatSettings,
        *,
        redis_url: str,
        redis_client: redis.Redis,
        pool: asyncpg.Pool,
        access_tokens: AccessTokens,
        node_id: str,
    ) -> None:
        self._settings = settings
        self._manager = socketio.AsyncRedisManager(
            redis_url, channel=CHANNEL,
            redis_options={"socket_connect_timeout": 5, "health_check_interval": 30},
        )
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            client_manager=self._manager,
            cors_allowed_origins=settings.cors_origins,
            max_http_buffer_size=settings.max_event_bytes,
            ping_interval=settings.ping_interval,
            ping_timeout=settings.ping_timeout,
            logger=False,
            engineio_logger=False,
            serializer=ChatPacket,
        )
        self.sio.eio._async = {**self.sio.eio._async, "websocket": EngineWebSocket}
        self._sio_open = self.sio._handle_eio_connect
        self._sio_message = self.sio._handle_eio_message
        self.sio.eio.on("connect", self._open)
        self.sio.eio.on("message", self._message)
        self._access_tokens = access_tokens
        self._accounts = Accounts(pool)
        self._clients: dict[str, ChatClient] = {}
        self._websockets: dict[str, asyncio.Transport] = {}  # engine.io sid → TCP transport
        self._watchdog: asyncio.Task[None] | None = None
        self.context = ChatContext(
            settings=settings,
            broadcast=self.broadcast,
            rooms=RoomDirectory(pool),
            accounts=self._accounts,
            subscriptions=Subscriptions(pool),
            history=LiveHistory(redis_client, keep=settings.history_messages, max_age=settings.history_age),
            comments=VideoComments(pool, settings.history_messages),
            pins=LivePins(redis_client),
            rules=RoomRuleStore(redis_client, settings),
            sanctions=Sanctions(redis_client),
            limits=SendLimits(redis_client),
            profanity=ProfanityMask(settings.profanity_filter),
            presence=Presence(redis_client, node_id, self._announce_viewers),
        )
        self._register()

    def _register(self) -> None:
        ctx = self.context
        sio = self.sio
        table: dict[str, tuple[type[events.ClientEvent], Action]] = {
            "join": (events.InRoom, lambda c, e: room_events.join(ctx, c, e, partial(sio.enter_room, c.sid))),
            "leave": (events.InRoom, lambda c, e: room_events.leave(ctx, c, e, partial(sio.leave_room, c.sid))),
            "send": (events.Send, partial(room_events.send, ctx)),
            "delete": (events.OnMessage, partial(actions.delete, ctx)),
            "timeout": (events.TimeOut, partial(actions.time_out, ctx)),
            "ban": (events.OnUser, partial(actions.ban, ctx)),
            "unban": (events.OnUser, partial(actions.unban, ctx)),
            "pin": (events.OnMessage, partial(actions.pin, ctx)),
            "unpin": (events.InRoom, partial(actions.unpin, ctx)),
            "set_rules": (events.SetRules, partial(actions.set_rules, ctx)),
            "banned_words": (events.InRoom, partial(actions.banned_words, ctx)),
            "set_banned_words": (events.SetBannedWords, partial(actions.set_banned_words, ctx)),
            "add_moderator": (events.OnUser, lambda c, e: actions.appoint(ctx, c, e, True)),
            "remove_moderator": (events.OnUser, lambda c, e: actions.appoint(ctx, c, e, False)),
        }
        for name, (model, action) in table.items():
            sio.on(name, self._guarded(name, model, action))
        sio.on("connect", self._connect)
        sio.on("disconnect", self._disconnect)
        sio.on("*", self._unknown)

    # -- lifecycle ---------------------------------------------------------------------------

    def attach(self, app: web.Application) -> None:
        """Serve Socket.IO on ``app`` at :data:`PATH` (through :meth:`_route`, not
        ``sio.attach``, to learn each WebSocket's TCP transport)."""
        app.router.add_route("*", PATH, self._route)

    async def start(self) -> None:
        await self.context.presence.start()
        self._watchdog = asyncio.get_running_loop().create_task(self._watch(), name="chat-watchdog")

    async def stop(self) -> None:
        """Drop every connection, then stop the background tasks (the manager's listener too,
        which python-socketio leaves running)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
            self._watchdog = None
        for sid in list(self._clients):
            await self.sio.disconnect(sid)
        for transport in self._websockets.values():
            transport.abort()
        await self.sio.shutdown()
        listener = getattr(self._manager, "thread", None)
        if listener is not None:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        if self._manager.redis is not None:
            await self._manager.redis.aclose()
        await self.context.presence.stop()

    async def _route(self, request: web.Request) -> web.StreamResponse:
        eio_sid = request.query.get("sid")
        if eio_sid and request.query.get("transport") == "websocket" and request.transport:
            self._websockets[eio_sid] = request.transport  # an upgrade from polling
        return await self.sio.handle_request(request)

    # -- connections -------------------------------------------------------------------------

    async def _open(self, eio_sid: str, environ: dict[str, Any]) -> None:
        """An Engine.IO session opens: python-socketio's handler, after noting a WebSocket's TCP
        transport (a client may need dropping before it connects to the namespace)."""
        request: web.Request = environ["aiohttp.request"]
        if request.query.get("transport") == "websocket" and request.transport is not None:
            self._websockets[eio_sid] = request.transport
        await self._sio_open(eio_sid, environ)

    async def _connect(self, sid: str, _environ: dict[str, Any], auth: object = None) -> None:
        client = ChatClient(
            sid, None,
            budget=EventBudget(self._settings.event_rate, self._settings.event_burst,
                               self._settings.flood_disconnect),
        )
        if auth is not None:
            await self._authenticate(client, auth)
        self._clients[sid] = client
        metrics.CONNECTIONS.labels(str(client.principal is not None).lower()).inc()

    async def _authenticate(self, client: ChatClient, auth: object) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        # A token is ASCII; PyJWT meets a lone surrogate with an error that is not its own.
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS or not token.isascii():
            raise socketio.exceptions.ConnectionRefusedError(
                "auth must be {token: <access token>} or absent", {"code": "bad_auth"}
            )
        try:
            principal = self._access_tokens.verify(token)
        except InvalidAccessToken as exc:
            code = "token_expired" if exc.expired else "invalid_token"
            raise socketio.exceptions.ConnectionRefusedError(str(exc), {"code": code}) from None
        user = await self._accounts.get(principal.user_id)
        if user is None or user.disabled_at is not None:
            raise socketio.exceptions.ConnectionRefusedError(
                "the account is disabled", {"code": "invalid_token"}
            )
        client.principal = principal
        client.username = user.username
        client.display_name = user.display_name

    async def _disconnect(self, sid: str, *_reason: object) -> None:
        client = self._clients.pop(sid, None)
        if client is None:
            return
        for room in client.rooms:
            self.context.presence.left(room)
        metrics.CONNECTIONS.labels(str(client.principal is not None).lower()).dec()

    # -- events ------------------------------------------------------------------------------

    async def _message(self, eio_sid: str, data: object) -> None:
        """Every Socket.IO packet, through python-socketio's handler. A packet it refuses
        (:class:`ChatPacket`) is answered like a refused event, within the same budget. Before
        its connect succeeds, a session may only send a connect (python-socketio would ignore
        anything else in silence, even from a client dropped for flooding that takes no hint):
        anything else drops it, as there is nobody to answer."""
        sock = self.sio.eio.sockets.get(eio_sid)
        if sock is None or sock.closed:
            return  # closed (say, its heartbeat timed out) while its client goes on sending
        client = self._clients.get(self.sio.manager.sid_from_eio_sid(eio_sid, "/") or "")
        try:
            if not isinstance(data, str) or not data:
                raise BadPacket(bad_request("not a Socket.IO packet"))  # binary: see ChatPacket
            if client is None and data[0] != str(packet.CONNECT):
                raise BadPacket(bad_request("connect first"))
            await self._sio_message(eio_sid, data)
        except BadPacket as bad:
            if client is None:
                await self._drop(eio_sid, "malformed")
            elif await self._within_budget(client, bad.event):
                await self._refuse(client.sid, bad.event, bad.refusal)

    def _guarded(
        self, name: str, model: type[events.ClientEvent], action: Action
    ) -> Callable[..., Awaitable[dict[str, Any] | None]]:
        async def handle(sid: str, *args: object) -> dict[str, Any] | None:
            client = self._clients.get(sid)
            if client is None:  # going away
                return None
            if not await self._within_budget(client, name):
                return {"ok": False, "error": _FLOOD.payload(name)}
            started = time.perf_counter()
            try:
                try:
                    if len(args) != 1:
                        raise bad_request("an event carries exactly one object")
                    event = events.parse(model, args[0])
                except ValueError as exc:
                    raise bad_request(str(exc)) from None
                return await action(client, event)
            except Refused as refusal:
                return await self._refuse(sid, name, refusal)
            except (redis.RedisError, asyncpg.PostgresError, OSError) as exc:
                log.warning("chat.event_failed", chat_event=name, error=str(exc))
                unavailable = Refused("unavailable", "chat is briefly unavailable; try again", retry_after=1)
                return await self._refuse(sid, name, unavailable)
            finally:
                metrics.HANDLING.labels(name).observe(time.perf_counter() - started)

        return handle

    async def _within_budget(self, client: ChatClient, name: str) -> bool:
        assert client.budget is not None
        if client.budget.take():
            return True
        metrics.REFUSED.labels("flood").inc()
        if client.budget.exhausted:
            log.info("chat.flood_dropped", sid=client.sid, user=client.principal and client.principal.user_id)
            metrics.DROPPED.labels("flood").inc()
            await self.sio.disconnect(client.sid)
        elif client.budget.should_tell():
            await self.sio.emit("error", _FLOOD.payload(name), to=client.sid)
        return False

    async def _refuse(self, sid: str, name: str, refusal: Refused) -> dict[str, Any]:
        """The refusal as an ``error`` event (for clients that do not ask for acks) and as the
        acknowledgement (for those that do)."""
        metrics.REFUSED.labels(refusal.code).inc()
        payload = refusal.payload(name)
        await self.sio.emit("error", payload, to=sid)
        return {"ok": False, "error": payload}

    async def _unknown(self, name: str, sid: str, *_args: object) -> dict[str, Any] | None:
        """Acknowledged like any refused event: a client that asks for an answer gets one."""
        client = self._clients.get(sid)
        if client is None:
            return None
        if not await self._within_budget(client, name):
            return {"ok": False, "error": _FLOOD.payload(name)}
        return await self._refuse(sid, name, Refused("unknown_event", f"there is no event {name[:40]!r}"))

    # -- broadcasting ------------------------------------------------------------------------

    async def broadcast(self, event: str, data: dict[str, Any], room: str) -> None:
        await self.sio.emit(event, data, room=room)
        if event == "message":
            metrics.MESSAGES.labels(room.partition(":")[0]).inc()

    async def _announce_viewers(self, room: str, count: int) -> None:
        """To this node's clients only: every node announces the total to its own, so a count
        is not multiplied by the number of nodes (nor sent through Redis)."""
        await self.sio.emit("viewers", {"room": room, "count": count}, room=room, ignore_queue=True)

    async def _watch(self) -> None:
        limit = self._settings.max_queued_packets
        while True:
            await asyncio.sleep(_WATCHDOG_SECONDS)
            for eio_sid in [s for s, sock in self.sio.eio.sockets.items() if sock.queue.qsize() > limit]:
                await self._drop(eio_sid, "slow")
            live = self.sio.eio.sockets
            for gone in [s for s in self._websockets if s not in live]:
                del self._websockets[gone]

    async def _drop(self, eio_sid: str, reason: str) -> None:
        """End a session now: abort its TCP connection (a closing handshake would wait on a client
        that does not read, or that ignores it), then close the session."""
        log.info("chat.client_dropped", eio_sid=eio_sid, reason=reason)
        metrics.DROPPED.labels(reason).inc()
        transport = self._websockets.pop(eio_sid, None)
        if transport is not None:
            transport.abort()
        sock = self.sio.eio.sockets.get(eio_sid)
        if sock is not None:
            await sock.close(wait=False, abort=True)
