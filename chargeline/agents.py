"""What the agents beside ``serve`` (stuck-session recovery, firmware rollouts) share: a round
every ``poll_s`` seconds, a warehouse not readable yet (not built, being compacted) being
a round skipped with a warning, never the agent's end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import duckdb


async def every(poll_s: float, tick: Callable[[], Awaitable[Any]], log: logging.Logger,
                skipped: str) -> None:
    """``tick`` every ``poll_s`` seconds until cancelled; ``skipped`` says what waits when
    the warehouse cannot be read."""
    while True:
        try:
            await tick()
        except (duckdb.Error, OSError) as exc:
            log.warning("%s: %s", skipped, exc)
        await asyncio.sleep(poll_s)
