"""Field types shared by request models, so every endpoint validates the same thing the same way.

Their constraints match the CHECKs in the migrations: what passes here fits the column.
Patterns are written for both Python and ECMA regex engines because fuzzers generate from the
OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from catalog.accounts import USERNAME_PATTERN
from catalog.channels import HANDLE_PATTERN
from catalog.live_streams import STREAM_NAME_PATTERN
from catalog.videos import PUBLIC_ID_PATTERN

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
"""A row id (PostgreSQL bigint): larger numbers are a 422, not an overflow in the driver."""

_LINE = r"^[^\x00-\x1f\x7f]*$"
_PARAGRAPHS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def line(max_length: int, min_length: int = 1) -> StringConstraints:
    """One line of text (no control characters): ``Annotated[str, line(100)]``.

    Not trimmed: what the OpenAPI document allows must be accepted as sent.
    """
    return StringConstraints(min_length=min_length, max_length=max_length, pattern=_LINE)


def paragraphs(max_length: int) -> StringConstraints:
    """Free text that may span lines (tabs and newlines allowed, other controls not)."""
    return StringConstraints(max_length=max_length, pattern=_PARAGRAPHS)


Username = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
Handle = Annotated[str, StringConstraints(pattern=HANDLE_PATTERN)]
StreamName = Annotated[str, StringConstraints(pattern=STREAM_NAME_PATTERN)]
VideoPublicId = Annotated[str, StringConstraints(pattern=PUBLIC_ID_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
