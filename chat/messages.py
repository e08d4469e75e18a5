"""What a chat message is on the wire, and the one place text is made fit to store.

Text is text: it is normalised (NFC), stripped of control, format and surrogate characters
(a right-to-left override can make a message read as somebody else's; a lone surrogate cannot
be stored as UTF-8), and otherwise stored and delivered exactly as typed. Nothing here, or
anywhere on the server, turns text into markup: clients render it as text.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from catalog.comments import Comment

_ZERO_WIDTH_JOINER = "\u200d"  # emoji sequences (👩‍👩‍👧) need it
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACES = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


class Badge(StrEnum):
    """Shown next to an author's name, the strongest that applies."""

    OWNER = "owner"
    ADMIN = "admin"
    MODERATOR = "moderator"
    SUBSCRIBER = "subscriber"


class BadText(ValueError):
    pass


def clean_text(text: str, max_length: int) -> str:
    """The text as it will be stored; BadText if nothing is left or it is too long."""
    text = unicodedata.normalize("NFC", text.translate(_SPACES))
    kept = "".join(
        ch for ch in text
        if ch == _ZERO_WIDTH_JOINER or unicodedata.category(ch) not in _DROPPED_CATEGORIES
    ).strip()
    if not kept.replace(_ZERO_WIDTH_JOINER, "").strip():  # joiners alone: nothing to read
        raise BadText("a message needs some text")
    if len(kept) > max_length:
        raise BadText(f"a message is at most {max_length} characters, this one has {len(kept)}")
    return kept


@dataclass(frozen=True, slots=True)
class Author:
    id: int
    username: str
    display_name: str
    badge: Badge | None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A live chat message (``id`` is its Redis stream id) or a video comment (the comment's id).

    ``time`` is the server's, in milliseconds since the epoch: for live messages, Redis's clock,
    so every node stamps from the same clock. ``timestamp`` is the moment of the video a comment
    is about, in seconds, and ``thread`` the comment a reply belongs under (video rooms only).
    """

    id: str
    room: str
    author: Author
    text: str
    time: int
    timestamp: float | None = None
    thread: str | None = None

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    def stored(self) -> str:
        """The message as a history entry keeps it: without its id and time, which are the
        entry's own id (see :mod:`chat.history`)."""
        fields = self.payload()
        del fields["id"], fields["time"]
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_stored(cls, message_id: str, time_ms: int, data: str | bytes) -> ChatMessage:
        fields = json.loads(data)
        author = fields.pop("author")
        badge = author.pop("badge")
        author = Author(**author, badge=Badge(badge) if badge else None)
        return cls(id=message_id, time=time_ms, author=author, **fields)

    @classmethod
    def of_comment(cls, room: str, comment: Comment, badge: Badge | None = None) -> ChatMessage:
        return cls(
            id=str(comment.id),
            room=room,
            author=Author(
                comment.author_id, comment.author_username, comment.author_display_name, badge
            ),
            text=comment.body,
            time=int(comment.created_at.timestamp() * 1000),
            timestamp=comment.timestamp_seconds,
            thread=None if comment.thread_id is None else str(comment.thread_id),
        )
