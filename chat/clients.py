"""Who is on the other end of a connection, and which rooms it is in (this node's memory)."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.access import Principal
from chat.messages import Author, Badge
from chat.moderation.flood import EventBudget
from chat.rooms import Room


@dataclass(slots=True)
class Membership:
    room: Room
    badge: Badge | None  # as of joining
    moderator: bool  # may moderate this room, as of joining


@dataclass(slots=True)
class ChatClient:
    sid: str
    principal: Principal | None  # None: anonymous, may read only
    username: str = ""
    display_name: str = ""
    budget: EventBudget | None = None
    rooms: dict[str, Membership] = field(default_factory=dict)

    def author(self, badge: Badge | None) -> Author:
        assert self.principal is not None
        return Author(self.principal.user_id, self.username, self.display_name, badge)
