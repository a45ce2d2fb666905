"""A journal outage (disk full, I/O error): what was refused while it lasted, and the record that
says so once the journal takes writes again.

While the journal cannot write, nothing can be acknowledged: a charger's CALL is answered
``InternalError`` (the charger keeps it and resends), its other frames and connection records
are lost (counted here), and new handshakes get 503. No record can say so at the time — the
journal is what is failing — so the outage is logged at once (``ERROR``, then every
``remind_s``), and a probe tries every ``probe_every_s`` to journal a ``refused`` record with
charge point id ``""`` and detail::

    {"status": 503, "reason": "journal unavailable", "error": "<first error>",
     "since_ns": ..., "unavailable_s": ..., "calls_refused": n, "frames_refused": n,
     "records_lost": n, "handshakes_refused": n, "chargers": n, "charge_point_ids": [<= 50]}

The first probe that lands ends the outage: the server never stopped, nothing restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import orjson

from canonical import RawFrame
from canonical.enums import Direction, ParseStatus, RecordKind
from canonical.errors import JournalError
from ingest.journal.backend import Journal

log = logging.getLogger("chargeline.ingest")
REASON = "journal unavailable"
_IDS_KEPT = 50


class JournalOutage:
    """Counts what an outage refused; journals the count when the journal works again."""

    def __init__(self, journal: Journal, probe_every_s: float = 1.0,
                 remind_s: float = 30.0, clock: Callable[[], int] = time.time_ns) -> None:
        self.journal = journal
        self.probe_every_s, self.remind_s, self.clock = probe_every_s, remind_s, clock
        self.active = False
        self.outages = 0  # ended so far
        self._probe: asyncio.Task[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.error, self.since_ns = "", 0
        self.counts = dict.fromkeys(
            ("calls_refused", "frames_refused", "records_lost", "handshakes_refused"), 0)
        self.charge_point_ids: set[str] = set()

    def failed(self, exc: BaseException, charge_point_id: str, what: str) -> None:
        """A write failed; ``what`` is the counter it adds to (``calls_refused``, ...)."""
        if not self.active:
            self.active, self.error, self.since_ns = True, str(exc), self.clock()
            log.error("JOURNAL UNAVAILABLE: refusing CALLs (InternalError) and handshakes "
                      "(503) until it can write again: %s", exc)
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_back())
        self.counts[what] += 1
        if charge_point_id:
            self.charge_point_ids.add(charge_point_id)

    def refused_handshake(self) -> None:
        self.counts["handshakes_refused"] += 1

    def detail(self) -> dict[str, object]:
        ids = sorted(self.charge_point_ids)
        return {"status": 503, "reason": REASON, "error": self.error[:500],
                "since_ns": self.since_ns,
                "unavailable_s": round((self.clock() - self.since_ns) / 1e9, 3),
                **self.counts, "chargers": len(ids), "charge_point_ids": ids[:_IDS_KEPT]}

    async def _probe_until_back(self) -> None:
        reminded = time.monotonic()
        while True:
            await asyncio.sleep(self.probe_every_s)
            detail = self.detail()
            try:
                await self.journal.write([_record(self.clock(), detail)])
            except JournalError as exc:
                if time.monotonic() - reminded >= self.remind_s:
                    reminded = time.monotonic()
                    log.error("JOURNAL STILL UNAVAILABLE after %.0f s: %s",
                              detail["unavailable_s"], exc)
                continue
            log.warning("journal writable again after %.1f s; refused meanwhile: %s",
                        detail["unavailable_s"], self.counts)
            self.active, self.outages = False, self.outages + 1
            self._reset()
            return

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe


def _record(now_ns: int, detail: dict[str, object]) -> RawFrame:
    return RawFrame(0, now_ns, "", "", "", Direction.none, RecordKind.refused, None, None, None,
                    orjson.dumps(detail).decode(), ParseStatus.not_applicable)
