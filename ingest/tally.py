"""Refusals counted, not journaled one by one: a flood of knocks is not a flood of records."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Note = Callable[[str, str, int], Awaitable[None]]  # (reason, address, refused)


class RefusalTally:
    """503 refusals (over the address cap, hash lane full) counted per reason and address and
    handed to ``note`` one record per key a second at most, with their count: at 700 knocks a
    second the loop pays one journal write a second, not 700."""

    def __init__(self, note: Note) -> None:
        self._note = note
        self._counts: dict[tuple[str, str], int] = {}  # not yet noted

    def count(self, reason: str, address: str) -> None:
        key = (reason, address)
        seen = self._counts.get(key, 0)
        self._counts[key] = seen + 1
        if seen == 0:
            asyncio.get_running_loop().call_later(
                1.0, lambda: asyncio.ensure_future(self._flush_one(key)))

    async def flush(self) -> None:
        """Note every count now (at shutdown)."""
        for key in list(self._counts):
            await self._flush_one(key)

    async def _flush_one(self, key: tuple[str, str]) -> None:
        refused = self._counts.pop(key, 0)
        if refused:
            await self._note(*key, refused)
