"""What a handshake may cost before anyone is known: the scrypt lane and the per-address cap.

Both bound work an unauthenticated peer can make the server do:

- ``HashLane``: scrypt (16 MiB, ~50 ms of a core) runs on its own small pool with a bounded
  queue. A flood of bad Basic headers waits there, never on the event loop nor on the
  default executor that everything else shares; past the queue, a handshake that needs a hash
  is answered 503 at once (``full``). Known and unknown ids queue in the same lane, so even
  under a flood the time of a refusal tells nothing about which ids exist.
- ``AddressCap``: at most ``limit`` concurrent TCP connections per remote address, counted
  from accept (before any byte of the request: a slowloris counts) to close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from canonical.errors import ConfigError

T = TypeVar("T")


class HashLane:
    """``workers`` threads for password hashing, at most ``queue`` hashes waiting or running."""

    def __init__(self, workers: int = 1, queue: int = 16) -> None:
        if workers < 1 or queue < workers:
            raise ConfigError(f"hash lane needs workers >= 1 and queue >= workers, got "
                              f"{workers}/{queue}")
        self.queue = queue
        self.pending = 0
        self.hashed = 0  # calls run so far
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="auth-hash")

    @property
    def full(self) -> bool:
        """True when a new hash would wait behind ``queue`` others: answer 503 instead."""
        return self.pending >= self.queue

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` on the lane. Callers check ``full`` first (same loop turn)."""
        self.pending += 1
        self.hashed += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self.pending -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class AddressCap:
    """Counts open connections per remote address; ``limit`` 0 means no cap.

    ``uncapped``: addresses never capped — a reverse proxy on the same host shows every
    charger under its own address (loopback by default). The map holds only addresses with
    a connection open, so it is as bounded as the connections themselves.
    """

    def __init__(self, limit: int, uncapped: tuple[str, ...] = ()) -> None:
        if limit < 0:
            raise ConfigError(f"connections per address must be >= 0, got {limit}")
        self.limit = limit
        self.uncapped = frozenset(uncapped)
        self.open: dict[str, int] = {}

    def admit(self, address: str) -> bool:
        """Count one more connection from ``address``; False (and not counted) if over."""
        count = self.open.get(address, 0)
        if self.limit and address not in self.uncapped and count >= self.limit:
            return False
        self.open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        count = self.open.get(address, 0) - 1
        if count > 0:
            self.open[address] = count
        else:
            self.open.pop(address, None)
