"""The services every chat event handler shares, built once per chat server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from catalog.accounts import Accounts
from catalog.subscriptions import Subscriptions
from chat.history import LiveHistory
from chat.moderation.room_rules import RoomRuleStore
from chat.moderation.sanctions import Sanctions
from chat.moderation.send_limits import SendLimits
from chat.moderation.word_filter import ProfanityMask
from chat.pins import LivePins
from chat.presence import Presence
from chat.rooms import RoomDirectory
from chat.video_comments import VideoComments
from tributary.settings import ChatSettings

Broadcast = Callable[[str, dict[str, Any], str], Awaitable[None]]
"""(event, data, room) → deliver to everyone in the room, on every node."""


@dataclass(frozen=True, slots=True)
class ChatContext:
    settings: ChatSettings
    broadcast: Broadcast
    rooms: RoomDirectory
    accounts: Accounts
    subscriptions: Subscriptions
    history: LiveHistory
    comments: VideoComments
    pins: LivePins
    rules: RoomRuleStore
    sanctions: Sanctions
    limits: SendLimits
    profanity: ProfanityMask
    presence: Presence
