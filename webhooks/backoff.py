"""When a failed try is tried again: exponential backoff with jitter.

The wait after try ``n`` is ``min(cap, base · 2^(n-1))``, of which half is fixed and half random
(as the job queue's retries): the fixed half keeps a struggling receiver from being asked again
too soon, the random half spreads the retries of many events that failed together (a receiver
that was down) instead of sending them back in one burst.
"""

from __future__ import annotations

import random


def retry_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed try number ``attempt`` (from 1)."""
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 60))
    return ceiling * (0.5 + 0.5 * (rng or random).random())
