"""The events clients send, as strict models: anything else is refused with a reason.

Strict means no coercion (a number is not a string, ``"1"`` is not a number) and no unknown
fields, so a client bug shows up as an error naming the field instead of odd behaviour.
Limits here bound the work one event can cause (list lengths, string lengths, durations).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import limits
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

MAX_TIMEOUT_SECONDS = 14 * 86_400
MAX_SLOW_MODE_SECONDS = 3600
MAX_TEXT_CHARS = 10_000  # before cleaning; the room's max_length applies after it
_SURROGATE = re.compile("[\ud800-\udfff]")

RoomText = Annotated[str, StringConstraints(min_length=1, max_length=80)]
MessageId = Annotated[str, StringConstraints(pattern=r"^(\d{1,15}-\d{1,10}|\d{1,19})$")]
"""A live message's Redis stream id ("1732200000000-0") or a video comment's id."""
UserId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class ClientEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class InRoom(ClientEvent):
    room: RoomText


class Send(InRoom):
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
    timestamp: Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)] | None = Field(
        None, description="Video rooms: the moment of the video the comment is about."
    )

    @field_validator("text", mode="before")
    @classmethod
    def _without_surrogates(cls, value: object) -> object:
        """JSON may carry a lone surrogate (``"\\ud800"``) that pydantic cannot take as text: it goes
        here, as cleaning would drop it anyway (:func:`chat.messages.clean_text`), instead of
        refusing the whole message."""
        return _SURROGATE.sub("", value) if isinstance(value, str) else value


class OnMessage(InRoom):
    id: MessageId


class OnUser(InRoom):
    user_id: UserId


class TimeOut(OnUser):
    seconds: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_SECONDS)]


class SetRules(InRoom):
    rate: Annotated[str, StringConstraints(max_length=40)] | None = None
    slow_mode: Annotated[int, Field(ge=0, le=MAX_SLOW_MODE_SECONDS)] | None = None
    subscribers_only: bool | None = None
    max_length: Annotated[int, Field(ge=1, le=MAX_TEXT_CHARS)] | None = None

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            item = limits.parse(value)  # ValueError: not a rate
            if item.amount < 1:
                raise ValueError("a rate allows at least one message")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude={"room"}, exclude_none=True)


class SetBannedWords(InRoom):
    words: list[Annotated[str, StringConstraints(min_length=1, max_length=50)]] = Field(
        max_length=10_000
    )


E = TypeVar("E", bound=ClientEvent)


def parse(model: type[E], data: object) -> E:
    """The event, or ValueError with what is wrong in one line."""
    if not isinstance(data, dict):
        raise ValueError("the event's data must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise ValueError(f"{where}: {first['msg']}") from None
