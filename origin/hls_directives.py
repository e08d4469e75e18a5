"""Delivery Directives (``_HLS_msn``, ``_HLS_part``, ``_HLS_skip``) of rfc8216bis §6.2.5.

Parsing is strict because a blocking request holds server resources: anything a real player
would not send (signs, letters, repeats, absurd sizes) is refused with a message saying why,
rather than guessed at. Unknown query parameters are ignored, as the draft asks.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from multidict import MultiMapping

from packager.live.names import MAX_NUMBER_DIGITS, NUMBER_PATTERN

SkipMode = Literal["YES", "v2"]

_DECIMAL_INTEGER = re.compile(NUMBER_PATTERN)
_SKIP_MODES: dict[str, SkipMode] = {"YES": "YES", "v2": "v2"}


class DirectiveError(ValueError):
    """A malformed or unanswerable directive; the message is sent to the client with a 400."""


@dataclass(frozen=True, slots=True)
class Directives:
    msn: int | None = None
    part: int | None = None
    skip: SkipMode | None = None


def parse_directives(query: MultiMapping[str]) -> Directives:
    """Read the directives from a request's query (a multidict, so repeats can be refused)."""
    msn = _number(query, "_HLS_msn")
    part = _number(query, "_HLS_part")
    if part is not None and msn is None:
        raise DirectiveError("_HLS_part requires _HLS_msn")
    raw_skip = _single(query, "_HLS_skip")
    skip = None if raw_skip is None else _SKIP_MODES.get(raw_skip)
    if raw_skip is not None and skip is None:
        raise DirectiveError("_HLS_skip must be YES or v2")
    return Directives(msn=msn, part=part, skip=skip)


def check_reach(
    msn: int, part: int | None, last_position: tuple[int, int], part_target: float
) -> None:
    """Refuse requests too far ahead of the live edge (rfc8216bis §6.2.5.2), which would
    otherwise just block until they time out.

    ``last_position`` is ``(msn, part)`` of the newest part. A part in a later segment is at least
    ``part + 1`` parts ahead, which is what is compared with the Advance Part Limit.
    """
    last_msn, last_part = last_position
    if msn > last_msn + 2:
        raise DirectiveError(
            f"_HLS_msn={msn} is more than two segments past the last one ({last_msn})"
        )
    if part is None or msn < last_msn:
        return
    ahead = part - last_part if msn == last_msn else part + 1
    limit = advance_part_limit(part_target)
    if ahead > limit:
        raise DirectiveError(
            f"_HLS_part={part} is more than {limit} parts past the last one"
            f" (segment {last_msn}, part {last_part})"
        )


def advance_part_limit(part_target: float) -> int:
    """Three seconds' worth of parts, or three parts when parts are a second or longer."""
    return math.ceil(3 / part_target - 1e-9) if part_target < 1 else 3


def _single(query: MultiMapping[str], name: str) -> str | None:
    values = query.getall(name, [])
    if len(values) > 1:
        raise DirectiveError(f"{name} is given more than once")
    return values[0] if values else None


def _number(query: MultiMapping[str], name: str) -> int | None:
    value = _single(query, name)
    if value is None:
        return None
    if not _DECIMAL_INTEGER.fullmatch(value):
        raise DirectiveError(
            f"{name} must be a decimal integer of at most {MAX_NUMBER_DIGITS} digits"
        )
    return int(value)

