"""Joining, leaving and sending: what every chatter does.

A send passes, in order: the text (cleaned, within the room's length), the sender's standing
(ban, time-out), the room's mode (subscribers only), the channel's banned words, slow mode and
the rate limit; then profanity is masked and the message stored (Redis history for a live
room, a catalog comment for a video) and broadcast. What the checks need (rules, standing,
banned words) is read at once, in one round trip's time; slow mode and the rate are counted
last so a refused message does not use up the sender's turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chat import events
from chat.clients import ChatClient, Membership
from chat.context import ChatContext
from chat.messages import BadText, ChatMessage, clean_text
from chat.moderation.word_filter import banned_word_in
from chat.powers import badge, may_moderate
from chat.refusals import Refused, bad_request
from chat.rooms import Room, RoomName, RoomNotFound

Ack = dict[str, Any]
RoomSwitch = Callable[[str], Awaitable[None]]
"""Puts the connection in (or takes it out of) a Socket.IO room: the server's business."""


def membership(client: ChatClient, room: str) -> Membership:
    joined = client.rooms.get(room)
    if joined is None:
        raise Refused("not_joined", f"join {room!r} first")
    return joined


def _room_name(text: str) -> RoomName:
    try:
        return RoomName.parse(text)
    except ValueError as exc:
        raise bad_request(str(exc)) from None


async def join(ctx: ChatContext, client: ChatClient, event: events.InRoom, enter: RoomSwitch) -> Ack:
    name = _room_name(event.room)
    key = str(name)
    if key not in client.rooms and len(client.rooms) >= ctx.settings.max_rooms:
        raise Refused("too_many_rooms", f"a connection may be in {ctx.settings.max_rooms} rooms at once")
    try:
        room = await ctx.rooms.resolve(name, client.principal)
    except RoomNotFound as exc:
        raise Refused("not_found", str(exc)) from None
    you: Ack = {"signed_in": client.principal is not None}
    joined = Membership(room, None, moderator=False)
    if client.principal is not None:
        standing = await ctx.sanctions.standing(room.scope, client.principal.user_id)
        subscribed = room.channel_id is not None and await ctx.subscriptions.is_subscribed(
            client.principal.user_id, room.channel_id
        )
        joined = Membership(
            room,
            badge(client.principal, room, appointed=standing.moderator, subscribed=subscribed),
            may_moderate(client.principal, room, appointed=standing.moderator),
        )
        you |= {
            "id": client.principal.user_id,
            "username": client.username,
            "badge": joined.badge,
            "moderator": joined.moderator,
            "banned": standing.banned,
            "timed_out_until": standing.timed_out_until,
        }
    if key not in client.rooms:
        await enter(key)
        ctx.presence.joined(key)
    client.rooms[key] = joined
    history, pinned, rules, viewers = await asyncio.gather(
        ctx.comments.recent(room, you_id(client)) if room.is_video else ctx.history.recent(key),
        ctx.comments.pinned(room) if room.is_video else ctx.pins.get(key),
        ctx.rules.get(key),
        ctx.presence.count(key),
    )
    return {
        "ok": True,
        "room": key,
        "history": [message.payload() for message in history],
        "pinned": pinned.payload() if pinned else None,
        "rules": rules.payload(),
        "viewers": viewers,
        "you": you,
    }


def you_id(client: ChatClient) -> int | None:
    return client.principal.user_id if client.principal else None


async def leave(ctx: ChatContext, client: ChatClient, event: events.InRoom, exit_room: RoomSwitch) -> Ack:
    key = str(_room_name(event.room))
    if client.rooms.pop(key, None) is not None:
        await exit_room(key)
        ctx.presence.left(key)
    return {"ok": True, "room": key}


async def send(ctx: ChatContext, client: ChatClient, event: events.Send) -> Ack:
    if client.principal is None:
        raise Refused("sign_in_required", "sign in to chat")
    joined = membership(client, event.room)
    room = joined.room
    if event.timestamp is not None and not room.is_video:
        raise bad_request("timestamp: only comments on a video have one")
    user_id = client.principal.user_id
    # What every send reads, at once: one round trip's wait instead of three in a row, while
    # the loop is busy delivering (bench/README.md, chat).
    rules, standing, banned_words = await asyncio.gather(
        ctx.rules.get(event.room),
        ctx.sanctions.standing(room.scope, user_id),
        ctx.sanctions.banned_words(room.scope),
    )
    try:
        text = clean_text(event.text, rules.max_length)
    except BadText as exc:
        raise Refused("bad_text", str(exc)) from None
    if standing.banned:
        raise Refused("banned", "you are banned from this channel's chat")
    if standing.timed_out_until is not None:
        seconds = max(1, -(-(standing.timed_out_until - int(time.time() * 1000)) // 1000))
        raise Refused("timed_out", f"you are timed out for {seconds} s", retry_after=seconds)
    moderator = may_moderate(client.principal, room, appointed=standing.moderator)
    await _check_mode(ctx, room, user_id, moderator, rules.subscribers_only)
    word = banned_word_in(text, banned_words)
    if word is not None:
        raise Refused("banned_word", f"{word!r} is not allowed in this channel's chat")
    if rules.slow_mode and not moderator:
        wait = await ctx.limits.slow_mode_wait(rules.slow_mode, event.room, user_id)
        if wait:
            raise Refused("slow_mode", f"slow mode: one message every {rules.slow_mode} s", retry_after=wait)
    wait = await ctx.limits.rate_wait(rules.rate_limit, event.room, user_id)
    if wait:
        raise Refused("rate_limited", f"too many messages (at most {rules.rate})", retry_after=wait)
    message = await _store(ctx, client, joined, ctx.profanity(text), event.timestamp)
    await ctx.broadcast("message", message.payload(), event.room)
    return {"ok": True, "message": message.payload()}


async def _check_mode(
    ctx: ChatContext, room: Room, user_id: int, moderator: bool, subscribers_only: bool
) -> None:
    if not subscribers_only or moderator or room.channel_id is None:
        return
    if not await ctx.subscriptions.is_subscribed(user_id, room.channel_id):
        raise Refused("subscribers_only", "only the channel's subscribers may chat right now")


async def _store(
    ctx: ChatContext, client: ChatClient, joined: Membership, text: str, timestamp: float | None
) -> ChatMessage:
    room = joined.room
    author = client.author(joined.badge)
    if room.is_video:
        posted = await ctx.comments.post(room, author.id, text, timestamp, joined.badge)
        if posted is None:
            raise Refused("not_found", "the video is gone")
        return posted
    unstamped = ChatMessage(id="", room=str(room.name), author=author, text=text, time=0)
    return await ctx.history.append(str(room.name), unstamped)
