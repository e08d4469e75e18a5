"""One connection's event budget: a token bucket, local to the node the connection lives on.

It runs before an event is parsed or touches Redis, so a client that floods costs a few
arithmetic operations per event. Refused events are counted; a client that keeps flooding
past ``flood_disconnect`` refusals is dropped.
"""

from __future__ import annotations

import time


class EventBudget:
    def __init__(self, rate: float, burst: int, disconnect_after: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._disconnect_after = disconnect_after
        self.refused = 0
        self._told = -1.0

    def take(self) -> bool:
        """True if one more event may be handled now."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.refused += 1
        return False

    @property
    def exhausted(self) -> bool:
        """Flooded long enough to be dropped."""
        return self.refused >= self._disconnect_after

    def should_tell(self) -> bool:
        """Tell a flooding client at most once a second, not once per refused event (which
        would flood it back)."""
        now = time.monotonic()
        if now - self._told < 1.0:
            return False
        self._told = now
        return True
