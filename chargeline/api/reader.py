"""Reads for the driver API, shared by every client: one warehouse read per ``ttl_s`` however
many clients poll (a client asking while a read is under way waits for that read rather than
starting another); a read up to one ``ttl_s`` stale is answered at once while the next one
runs, so a client waits for the warehouse only when nobody asked for a while. Sessions are
read together: every session a client asked for in the last
``FOLLOW_S`` is read in one pass (``warehouse.live.live_sessions``), so a hundred apps
following thirty sessions cost two queries a second, not sixty. Reads run in worker
threads, each on its own cursor of one read-only connection; a warehouse that cannot be read
now (being built, compacting) gives the last answer (or "not known yet") rather than failing
the request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from canonical.live import ChargerAvailability, LiveSession
from warehouse.catalog import connect
from warehouse.live import charger_availability, live_sessions

log = logging.getLogger("chargeline.api")
FOLLOW_S = 30.0  # a session nobody asked for this long is no longer read


@dataclass
class LiveReader:
    data_dir: Path
    ttl_s: float = 1.0
    _con: duckdb.DuckDBPyConnection | None = None
    _cache: dict[tuple[str, str], tuple[float, Any]] = field(default_factory=dict)
    _pending: dict[tuple[str, str], asyncio.Future[Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wanted: dict[str, float] = field(default_factory=dict)   # session id -> last asked
    _batch: asyncio.Future[set[str]] | None = None

    async def session(self, session_id: str) -> LiveSession | None:
        """The session as last read. A read older than ``ttl_s`` (but younger than twice
        that) is answered at once while the next read runs for the callers after; an older
        one, or none, waits for the read."""
        now = time.monotonic()
        self._wanted[session_id] = now
        key = ("session", session_id)
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            value: LiveSession | None = hit[1]
            return value
        if hit is not None and now - hit[0] < 2 * self.ttl_s:
            self._start_read()
            return hit[1]  # type: ignore[no-any-return]
        for _ in range(2):  # a read under way may have started before this id was wanted
            if session_id in await asyncio.shield(self._start_read()):
                break
        hit = self._cache.get(key)  # a warehouse not readable now: the last answer
        return None if hit is None else hit[1]

    def _start_read(self) -> asyncio.Future[set[str]]:
        if self._batch is None:
            self._batch = asyncio.ensure_future(self._read_sessions(self._following()))
        return self._batch

    def _following(self) -> list[str]:
        """The sessions asked for in the last ``FOLLOW_S``; the others forgotten."""
        now = time.monotonic()
        for sid in [k for k, at in self._wanted.items() if now - at > FOLLOW_S]:
            del self._wanted[sid]
            self._cache.pop(("session", sid), None)
        return sorted(self._wanted)

    async def _read_sessions(self, ids: list[str]) -> set[str]:
        """``ids`` read in one pass into the cache (absent ones as None); the ids."""
        try:
            found = await asyncio.to_thread(self._query, lambda con: live_sessions(
                con, self.data_dir, ids))
            if found is not None:
                now = time.monotonic()
                for sid in ids:
                    self._cache[("session", sid)] = (now, found.get(sid))
            return set(ids)
        finally:
            self._batch = None

    async def availability(self, cp: str) -> ChargerAvailability | None:
        value: ChargerAvailability | None = await self._read(
            ("charger", cp), lambda con: charger_availability(con, self.data_dir, cp))
        return value

    async def _read(self, key: tuple[str, str],
                    read: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        pending = self._pending.get(key)
        if pending is not None:  # a read under way: its answer is this caller's too
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await asyncio.to_thread(self._query, read)
            self._cache[key] = (time.monotonic(), value)
            if len(self._cache) > 10_000:  # bounded: drop the stale
                cutoff = time.monotonic() - self.ttl_s
                self._cache = {k: v for k, v in self._cache.items() if v[0] >= cutoff}
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._pending[key]

    def _query(self, read: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        try:
            with self._lock:
                if self._con is None:
                    self._con = connect(self.data_dir)
                cursor = self._con.cursor()
        except (duckdb.Error, OSError) as exc:
            log.warning("api: warehouse not readable now: %s", exc)
            return None
        try:
            return read(cursor)
        except (duckdb.Error, OSError) as exc:
            log.warning("api: warehouse not readable now: %s", exc)
            return None
        finally:
            cursor.close()
