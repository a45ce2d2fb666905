"""Token buckets that tell how long to wait instead of refusing, and the budgets of each charge
point (frames and bytes) that outlive its connections."""

from __future__ import annotations

from collections import OrderedDict

from canonical.errors import ConfigError


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved. ``take`` spends ``amount``
    tokens and returns 0, or the seconds to wait until the tokens it borrowed are earned."""

    __slots__ = ("_at", "capacity", "rate", "tokens")

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = float(capacity)
        self._at: float | None = None

    def take(self, now: float, amount: float = 1.0) -> float:
        if self._at is not None:
            self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.rate)
        self._at = now
        self.tokens -= amount
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Budget:
    """One charge point's frames and bytes. ``throttled``: a ``rate_limited`` record was
    journaled for the episode in course."""

    __slots__ = ("bytes", "frames", "throttled")

    def __init__(self, frames: TokenBucket, size: TokenBucket) -> None:
        self.frames = frames
        self.bytes = size
        self.throttled = False

    def take(self, now: float, size: int) -> float:
        """Spend one frame of ``size`` bytes; seconds to wait (the longer of the two)."""
        return max(self.frames.take(now), self.bytes.take(now, size))

    @property
    def refilled(self) -> bool:
        """Both buckets at least half full again: a throttling episode is over."""
        return (self.frames.tokens >= self.frames.capacity / 2
                and self.bytes.tokens >= self.bytes.capacity / 2)


class ChargerBudgets:
    """The budget of each charge point, kept across its connections: reconnecting does not
    refill it. At most ``max_tracked`` ids are kept; the one unused longest goes first (its
    budget starts full if it comes back), so memory is bounded whatever ids are tried.

    Frames: ``rate_per_s``, ``burst``. Bytes (as received): ``bytes_per_s``, ``burst_bytes``.
    """

    def __init__(self, rate_per_s: float, burst: int, bytes_per_s: float, burst_bytes: int,
                 max_tracked: int = 100_000) -> None:
        if min(rate_per_s, bytes_per_s) <= 0 or min(burst, burst_bytes, max_tracked) < 1:
            raise ConfigError(f"budgets need rates > 0 and bursts, max_tracked >= 1, got "
                              f"{rate_per_s}/{burst}, {bytes_per_s}/{burst_bytes}, {max_tracked}")
        self.rate_per_s, self.burst = rate_per_s, burst
        self.bytes_per_s, self.burst_bytes = bytes_per_s, burst_bytes
        self.max_tracked = max_tracked
        self._budgets: OrderedDict[str, Budget] = OrderedDict()

    def of(self, charge_point_id: str) -> Budget:
        budget = self._budgets.get(charge_point_id)
        if budget is None:
            budget = Budget(TokenBucket(self.rate_per_s, self.burst),
                            TokenBucket(self.bytes_per_s, self.burst_bytes))
            self._budgets[charge_point_id] = budget
            if len(self._budgets) > self.max_tracked:
                self._budgets.popitem(last=False)
        else:
            self._budgets.move_to_end(charge_point_id)
        return budget

    def __len__(self) -> int:
        return len(self._budgets)
