"""Single byte ranges (RFC 9110 §14), as players send them for VOD media and thumbnails; used by
the origin's storage-backed routes and by edges serving from their cache."""

from __future__ import annotations

import re

_RANGE = re.compile(r"bytes=([0-9]{1,15})?-([0-9]{1,15})?", re.IGNORECASE)


class Unsatisfiable(ValueError):
    """A Range header that must be answered 416; the message says why."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single ``bytes`` range (RFC 9110 §14.1.2) within ``size`` bytes.

    None for another range unit, which must be ignored (the whole object is served). Raises
    :class:`Unsatisfiable` for malformed, multiple or unsatisfiable ranges: answered 416.
    """
    if not header.lower().startswith("bytes="):
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match[1] is None and match[2] is None:
        raise Unsatisfiable("one byte range, as bytes=first-last, bytes=first- or bytes=-suffix")
    first, last = match[1], match[2]
    if first is None:  # the last N bytes
        if int(last) == 0 or size == 0:
            raise Unsatisfiable("an empty suffix range")
        return max(0, size - int(last)), size
    start = int(first)
    if last is not None and int(last) < start:
        raise Unsatisfiable("the range ends before it starts")
    if start >= size:
        raise Unsatisfiable(f"the range starts past the end ({size} bytes)")
    return start, size if last is None else min(int(last) + 1, size)
