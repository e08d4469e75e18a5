"""What moderators do from the chat: delete, time out, ban, pin, change the rules and the
banned words, and (channel owners) appoint moderators. Each is announced to the room, so
every client on every node shows it at once."""

from __future__ import annotations

from typing import Any

from catalog.access import Role
from chat import events
from chat.clients import ChatClient, Membership
from chat.context import ChatContext
from chat.moderation.word_filter import normalise_word
from chat.powers import may_appoint, may_sanction
from chat.refusals import Refused, bad_request, forbidden
from chat.room_events import Ack, membership


def _moderating(client: ChatClient, room: str) -> Membership:
    joined = membership(client, room)
    if client.principal is None or not joined.moderator:
        raise forbidden("only the channel owner and moderators may do this")
    return joined


async def delete(ctx: ChatContext, client: ChatClient, event: events.OnMessage) -> Ack:
    """Moderators delete any message; anybody signed in deletes their own."""
    joined = membership(client, event.room)
    if client.principal is None:
        raise Refused("sign_in_required", "sign in to delete your messages")
    user_id = client.principal.user_id
    if joined.room.is_video:
        comment = await ctx.comments.get(joined.room, event.id)
        if comment is None:
            raise Refused("not_found", "no such message in this room")
        if comment.author_id != user_id and not joined.moderator:
            raise forbidden("you may delete only your own messages")
        await ctx.comments.delete(comment)  # which unpins it
        was_pinned = comment.pinned
    else:
        message = await ctx.history.get(event.room, event.id)
        if message is None:
            raise Refused("not_found", "no such message in this room")
        if message.author.id != user_id and not joined.moderator:
            raise forbidden("you may delete only your own messages")
        await ctx.history.delete(event.room, event.id)
        pinned = await ctx.pins.get(event.room)
        was_pinned = pinned is not None and pinned.id == event.id
        if was_pinned:
            await ctx.pins.unpin(event.room)
    await ctx.broadcast("deleted", {"room": event.room, "id": event.id}, event.room)
    if was_pinned:
        await ctx.broadcast("pinned", {"room": event.room, "message": None}, event.room)
    return {"ok": True}


async def _sanctionable(
    ctx: ChatContext, client: ChatClient, event: events.OnUser
) -> Membership:
    joined = _moderating(client, event.room)
    assert client.principal is not None
    target = await ctx.accounts.get(event.user_id)
    if target is None:
        raise Refused("not_found", f"no user {event.user_id}")
    appointed = (await ctx.sanctions.standing(joined.room.scope, event.user_id)).moderator
    if not may_sanction(client.principal, joined.room, target.id, target.role, target_appointed=appointed):
        raise forbidden("the channel owner, staff and fellow moderators cannot be sanctioned")
    return joined


async def _announce_sanction(
    ctx: ChatContext, joined: Membership, user_id: int, kind: str, until: int | None
) -> None:
    """Tell the room; a ban or time-out also takes the user's recent messages out of a live
    room's history (``cleared``: their ids, for clients to remove)."""
    room = str(joined.room.name)
    cleared = []
    if kind != "lifted" and not joined.room.is_video:
        cleared = await ctx.history.delete_by(room, user_id)
    payload: dict[str, Any] = {
        "room": room, "user_id": user_id, "kind": kind, "until": until, "cleared": cleared
    }
    await ctx.broadcast("sanction", payload, room)


async def time_out(ctx: ChatContext, client: ChatClient, event: events.TimeOut) -> Ack:
    joined = await _sanctionable(ctx, client, event)
    until = await ctx.sanctions.time_out(joined.room.scope, event.user_id, event.seconds)
    await _announce_sanction(ctx, joined, event.user_id, "timeout", until)
    return {"ok": True, "until": until}


async def ban(ctx: ChatContext, client: ChatClient, event: events.OnUser) -> Ack:
    joined = await _sanctionable(ctx, client, event)
    await ctx.sanctions.ban(joined.room.scope, event.user_id)
    await _announce_sanction(ctx, joined, event.user_id, "ban", None)
    return {"ok": True}


async def unban(ctx: ChatContext, client: ChatClient, event: events.OnUser) -> Ack:
    joined = _moderating(client, event.room)
    if await ctx.sanctions.unban(joined.room.scope, event.user_id):
        await _announce_sanction(ctx, joined, event.user_id, "lifted", None)
    return {"ok": True}


async def pin(ctx: ChatContext, client: ChatClient, event: events.OnMessage) -> Ack:
    joined = _moderating(client, event.room)
    if joined.room.is_video:
        comment = await ctx.comments.get(joined.room, event.id)
        if comment is None or not await ctx.comments.pin(comment):
            raise Refused("not_found", "no such top-level comment to pin")
        pinned = await ctx.comments.pinned(joined.room)
    else:
        pinned = await ctx.history.get(event.room, event.id)
        if pinned is None:
            raise Refused("not_found", "no such message in this room")
        await ctx.pins.pin(pinned)
    payload = pinned.payload() if pinned else None
    await ctx.broadcast("pinned", {"room": event.room, "message": payload}, event.room)
    return {"ok": True}


async def unpin(ctx: ChatContext, client: ChatClient, event: events.InRoom) -> Ack:
    joined = _moderating(client, event.room)
    if joined.room.is_video:
        await ctx.comments.unpin(joined.room)
    else:
        await ctx.pins.unpin(event.room)
    await ctx.broadcast("pinned", {"room": event.room, "message": None}, event.room)
    return {"ok": True}


async def set_rules(ctx: ChatContext, client: ChatClient, event: events.SetRules) -> Ack:
    _moderating(client, event.room)
    changes = event.changes()
    if changes.get("max_length", 0) > ctx.settings.max_length:
        raise bad_request(f"max_length: at most the server's {ctx.settings.max_length}")
    rules = await ctx.rules.change(event.room, **changes)
    await ctx.broadcast("rules", {"room": event.room, **rules.payload()}, event.room)
    return {"ok": True, "rules": rules.payload()}


async def banned_words(ctx: ChatContext, client: ChatClient, event: events.InRoom) -> Ack:
    joined = _moderating(client, event.room)
    return {"ok": True, "words": sorted(await ctx.sanctions.banned_words(joined.room.scope))}


async def set_banned_words(ctx: ChatContext, client: ChatClient, event: events.SetBannedWords) -> Ack:
    joined = _moderating(client, event.room)
    if len(event.words) > ctx.settings.max_banned_words:
        raise bad_request(f"words: at most {ctx.settings.max_banned_words}")
    try:
        words = frozenset(normalise_word(word) for word in event.words)
    except ValueError as exc:
        raise bad_request(f"words: {exc}") from None
    await ctx.sanctions.set_banned_words(joined.room.scope, words)
    return {"ok": True, "words": sorted(words)}


async def appoint(ctx: ChatContext, client: ChatClient, event: events.OnUser, moderator: bool) -> Ack:
    joined = membership(client, event.room)
    if client.principal is None or not may_appoint(client.principal, joined.room):
        raise forbidden("only the channel owner appoints moderators")
    if joined.room.channel_id is None:
        raise bad_request("a stream without a channel has no moderators of its own")
    target = await ctx.accounts.get(event.user_id)
    if target is None:
        raise Refused("not_found", f"no user {event.user_id}")
    if target.role is Role.ADMIN and not moderator:
        raise forbidden("site staff moderate every channel")
    await ctx.sanctions.set_moderator(joined.room.scope, event.user_id, moderator)
    return {"ok": True}
