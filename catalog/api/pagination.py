"""Keyset pagination with opaque cursors, for every list endpoint.

A list endpoint takes ``page: PageQuery`` (``?limit=`` 1-100, default 20, and ``?cursor=``),
asks its data-access module for ``limit + 1`` rows after the decoded cursor key, and splits
them with :meth:`Cursor.page` into the items and ``next_cursor`` of a ``Page``. The cursor is the
last item's sort key (its id, or ``(created_at, id)``, …) as base64url JSON: stable under
inserts (no offset drift), cheap with an index, and validated on the way back in against a
bounded type (``Cursor(Id)``), so a forged cursor can only start the list elsewhere. Give each
page model its own name (``class StreamPage(Page[StreamOut])``): OpenAPI component names may
not contain brackets.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from aiohttp_pydantic.injectors import Group
from pydantic import Field, TypeAdapter, ValidationError

from catalog.api.errors import ApiError
from catalog.api.views import ApiModel

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512

Item = TypeVar("Item")
Key = TypeVar("Key")


class PageQuery(Group):
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT
    cursor: Annotated[
        str | None,
        Field(
            max_length=MAX_CURSOR_LENGTH,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="next_cursor of the previous page.",
        ),
    ] = None


class Page(ApiModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


class Cursor(Generic[Key]):
    """Encodes and decodes one kind of sort key (``Cursor(int)``, ``Cursor(tuple[datetime, int])``)."""

    def __init__(self, key_type: Any) -> None:
        self._adapter: TypeAdapter[Key] = TypeAdapter(key_type)

    def encode(self, key: Key) -> str:
        return base64.urlsafe_b64encode(self._adapter.dump_json(key)).rstrip(b"=").decode()

    def decode(self, cursor: str | None) -> Key | None:
        if cursor is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            return self._adapter.validate_json(raw, strict=True)
        except (binascii.Error, ValueError, ValidationError):
            raise ApiError(400, "invalid_cursor", "the cursor is not one this list handed out") from None

    def page(
        self, rows: Sequence[Item], limit: int, key: Callable[[Item], Key]
    ) -> tuple[list[Item], str | None]:
        """Split ``limit + 1`` fetched rows into this page's items and the next cursor."""
        items = list(rows[:limit])
        more = len(rows) > limit
        return items, (self.encode(key(items[-1])) if more and items else None)
