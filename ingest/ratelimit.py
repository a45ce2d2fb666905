"""A token bucket that tells how long to wait instead of refusing."""

from __future__ import annotations


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved. ``take`` spends one token and
    returns 0, or the seconds to wait until the token it borrowed is earned."""

    def __init__(self, rate: float, capacity: int) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = float(capacity)
        self._at: float | None = None

    def take(self, now: float) -> float:
        if self._at is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
        self._at = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate
