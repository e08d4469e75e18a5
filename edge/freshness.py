"""How long an edge may keep an origin's response: the Cache-Control directives (RFC 9111 §5.2)
that origins actually send, read as a shared cache must read them.

Hand-written because the maintained HTTP caching libraries (``cachecontrol``, ``hishel``) are
whole client-side caches bound to their own transports; an edge needs only this decision.
"""

from __future__ import annotations

from dataclasses import dataclass

_NOT_SHARED = frozenset({"no-store", "private"})


@dataclass(frozen=True, slots=True)
class Freshness:
    storable: bool
    """A shared cache may keep it at all (not ``no-store``, not ``private``)."""
    ttl: float
    """Seconds it may be served without asking the origin again (0: ask every time)."""
    stale_if_error: float
    """Seconds beyond ``ttl`` it may still be served when every upstream fails (RFC 5861)."""


def directives(cache_control: str | None) -> dict[str, str | None]:
    """``max-age=60, public`` → ``{"max-age": "60", "public": None}``; names lower-cased."""
    parsed: dict[str, str | None] = {}
    for item in (cache_control or "").split(","):
        name, _, value = item.strip().partition("=")
        name = name.strip().lower()
        if name and name not in parsed:  # the first occurrence wins (RFC 9111 §4.2.1)
            parsed[name] = value.strip().strip('"') if _ else None
    return parsed


def _seconds(value: str | None) -> float | None:
    """A delta-seconds value, or ``None`` when it is missing or not a non-negative integer."""
    if value is None or not value.isdigit() or len(value) > 10:
        return None
    return float(value)


def freshness(cache_control: str | None) -> Freshness:
    found = directives(cache_control)
    if _NOT_SHARED & found.keys():
        return Freshness(storable=False, ttl=0.0, stale_if_error=0.0)
    # s-maxage is the shared caches' own max-age; an invalid value means "stale" (§4.2.1).
    age = found.get("s-maxage", found.get("max-age"))
    ttl = 0.0 if "no-cache" in found else (_seconds(age) or 0.0)
    return Freshness(
        storable=True, ttl=ttl, stale_if_error=_seconds(found.get("stale-if-error")) or 0.0
    )
