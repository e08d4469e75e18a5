"""Who holds which powers in a room: badges, moderation, and whom a moderator may sanction.

The channel owner and site admins hold every power; site moderators and the moderators a
channel owner appoints may delete, time out, ban, pin and change the rules. Nobody may
sanction the owner or site staff, and appointed moderators may not sanction each other (a
dispute between moderators is the owner's to settle).
"""

from __future__ import annotations

from catalog.access import Principal, Role
from chat.messages import Badge
from chat.rooms import Room


def badge(principal: Principal, room: Room, *, appointed: bool, subscribed: bool) -> Badge | None:
    if room.owner_id == principal.user_id:
        return Badge.OWNER
    if principal.role is Role.ADMIN:
        return Badge.ADMIN
    if appointed or principal.role is Role.MODERATOR:
        return Badge.MODERATOR
    return Badge.SUBSCRIBER if subscribed else None


def may_moderate(principal: Principal, room: Room, *, appointed: bool) -> bool:
    return (
        room.owner_id == principal.user_id
        or principal.role in (Role.ADMIN, Role.MODERATOR)
        or appointed
    )


def may_appoint(principal: Principal, room: Room) -> bool:
    return room.owner_id == principal.user_id or principal.role is Role.ADMIN


def may_sanction(
    actor: Principal, room: Room, target_id: int, target_role: Role, *, target_appointed: bool
) -> bool:
    if target_id == actor.user_id or target_id == room.owner_id:
        return False
    if target_role in (Role.ADMIN, Role.MODERATOR):
        return False
    return not target_appointed or may_appoint(actor, room)
