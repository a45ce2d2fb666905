"""``JournalSource``: the journal as a Bytewax input, resumable from a frame id.

Items (one partition, in journal order)::

    ("frames", pa.Table of RawFrame rows, clock_ns)   # up to ``max_rows`` frames
    ("tick", None, clock_ns)                          # live only, about once a second

``clock_ns`` is the watermark the detectors' timers run on: the newest server receive time in
the journal so far, and, when following live, at least the wall clock (so a silent charger's
timers still fire). Replaying, it is frame time only: replay and live agree on everything the
frames decide. The resume state is the last frame id handed out.

Partitions: one (``journal``), or, for a flow of 2, 4 or 8 workers, one per worker, each
reading the whole journal and keeping the frames of the shards its worker holds (``parts``,
fixed when the recovery store is made: ``chargeline.flowrun``). Partition ``p`` is named by
shard ``p``'s key, which Bytewax routes to worker ``p``, the worker of every shard ``s`` with
``s % parts == p``: no frame crosses between processes, each process unpacks, writes and
processes its own. The clock and resume state are those of the whole batch read, so every
shard sees the same (frames, clock) items in every layout.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from canonical.journal import OpenReader
from flows.shard import SHARD_KEYS, SHARDS, row_shards

Item = tuple[str, Any, int]
COALESCE_NS = 300_000_000
WallClock = Callable[[], int]
#: Set to end a live flow cleanly: the partition hands out what it holds, then ends its
#: input, so every step's end-of-input flush writes what it buffered (``request_stop``).
STOP = threading.Event()


def request_stop(signum: int, _frame: object = None) -> None:
    """A signal handler: SIGINT or SIGTERM ends the flow cleanly within a poll (~0.1 s)."""
    if not STOP.is_set():
        print(f"chargeline flow: {signal.Signals(signum).name}: handing on what it holds, "
              "flushing, then exiting", file=sys.stderr, flush=True)
    STOP.set()


def wall_ns() -> int:
    return time.time_ns()


class _JournalPartition(StatefulSourcePartition[Item, int]):
    def __init__(self, open_reader: OpenReader, after: int, follow: bool, max_rows: int,
                 clock: WallClock, *, shards: tuple[int, ...] | None = None) -> None:
        self.reader = open_reader(after)
        self.emitted = after
        self.follow, self.max_rows, self.clock = follow, max_rows, clock
        self.shards = shards  # the shards its frames and ticks are for; None: all
        self.filtered = shards is not None  # frames of other shards are dropped here
        self.pending: list[pa.RecordBatch] = []
        self.watermark = 0
        self.last_tick = 0
        self.idle = False
        self.pending_since = 0

    def next_batch(self) -> list[Item]:
        if STOP.is_set() and self.follow:
            if self.pending:
                return self._frames()
            raise StopIteration
        fresh = self.reader.poll() if self.follow or not self.pending else []
        if fresh and not self.pending:
            self.pending_since = self.clock()
        self.pending += fresh
        if self.pending and self._due():
            self.idle = False
            return self._frames()
        if not self.follow:
            raise StopIteration
        self.idle = True
        now = self.clock()
        if now - self.last_tick < 1_000_000_000:
            return []
        self.last_tick = now
        self.watermark = max(self.watermark, now)
        return [("tick", self.shards, self.watermark)]

    def _due(self) -> bool:
        """Replaying: always. Live: frames wait up to ``COALESCE_NS`` for company, so the
        warehouse gets a few files a second, not one per poll."""
        if not self.follow:
            return True
        rows = sum(b.num_rows for b in self.pending)
        return rows >= self.max_rows or self.clock() - self.pending_since >= COALESCE_NS

    def _frames(self) -> list[Item]:
        taken, rows = [], 0
        while self.pending and rows < self.max_rows:
            batch = self.pending.pop(0)
            taken.append(batch)
            rows += batch.num_rows
        self.pending_since = self.clock()
        table = pa.Table.from_batches(taken)
        newest = pc.max(table.column("received_at")).cast(pa.int64()).as_py()
        self.watermark = max(self.watermark, int(newest or 0))
        if self.follow:
            self.watermark = max(self.watermark, self.clock() - 2_000_000_000)
        self.emitted = int(table.column("frame_id")[-1].as_py())
        if self.filtered and self.shards is not None:
            table = _of_shards(table, self.shards)
            if table.num_rows == 0:
                return []
        return [("frames", table, self.watermark)]

    def next_awake(self) -> datetime | None:
        if self.idle:
            return datetime.now(UTC) + timedelta(milliseconds=100)
        return None

    def snapshot(self) -> int:
        """The last frame id handed downstream (not merely read)."""
        return self.emitted


def _of_shards(table: pa.Table, shards: tuple[int, ...]) -> pa.Table:
    row_shard, _ = row_shards(table)
    return table.filter(pc.is_in(row_shard, value_set=pa.array(shards, type=pa.int32())))


def source_parts(workers: int) -> int:
    """Partitions for a flow of ``workers`` workers in all: one per worker where the shards
    spread evenly over them (and the shard keys route partition ``p`` to worker ``p``)."""
    return workers if workers > 1 and SHARDS % workers == 0 else 1


def part_shards(parts: int) -> dict[str, tuple[int, ...] | None]:
    """Each partition's name and the shards it keeps (None: all of them)."""
    if parts == 1:
        return {"journal": None}
    return {SHARD_KEYS[p]: tuple(s for s in range(SHARDS) if s % parts == p)
            for p in range(parts)}


class JournalSource(FixedPartitionedSource[Item, int]):
    """The journal ``open_reader`` reads (``canonical.journal``: the files under a data dir,
    or another backend) in ``parts`` partitions (``source_parts``); ``follow`` tails it
    forever, else stops at its end."""

    def __init__(self, open_reader: OpenReader, follow: bool = True, max_rows: int = 20_000,
                 clock: WallClock = wall_ns, parts: int = 1) -> None:
        self.open_reader = open_reader
        self.follow, self.max_rows, self.clock = follow, max_rows, clock
        self.shards = part_shards(parts)

    def list_parts(self) -> list[str]:
        return list(self.shards)

    def build_part(self, step_id: str, for_part: str, resume_state: int | None
                   ) -> _JournalPartition:
        return _JournalPartition(self.open_reader, resume_state or 0, self.follow,
                                 self.max_rows, self.clock, shards=self.shards[for_part])
