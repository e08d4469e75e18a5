"""Who is asking, and the ownership rule every resource shares.

Kept free of HTTP and SQL so the data-access modules (a video's visibility) and the API
(``catalog/api/auth.py``) apply the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Mirrors the ``user_role`` enum in PostgreSQL."""

    VIEWER = "viewer"
    CREATOR = "creator"
    MODERATOR = "moderator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller, as an access token describes them."""

    user_id: int
    role: Role


def may_manage(principal: Principal | None, owner_id: int | None) -> bool:
    """The owner of a thing, or an admin. ``owner_id`` None: owned by nobody (admins only)."""
    if principal is None:
        return False
    return principal.role is Role.ADMIN or (owner_id is not None and principal.user_id == owner_id)
