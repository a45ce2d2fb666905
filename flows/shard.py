"""The stateful step: one ``ShardLogic`` per shard of charge points (``crc32(id) % SHARDS``).

Sharding by a fixed count, not by worker, keeps results identical for 1 or N workers; a shard
holds many chargers so each Bytewax item carries a batch, not a single frame. Output is
buffered and emitted as Arrow batches per warehouse table on every tick (about once a second
live), when it grows past ``FLUSH_ROWS``, and at the end of a replay.

A recovery snapshot packs the buffered output into those Arrow batches first (the work the
next flush would do anyway) and keeps them until then: pickling a few Arrow buffers costs
little, pickling tens of thousands of record objects every snapshot cost more than the rest of
a replay.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from bytewax.operators import StatefulLogic

from canonical import Alert, CanonicalEvent, RawFrame, to_batch
from canonical.arrow import TIMESTAMP_NS, from_table
from canonical.enums import RecordKind
from canonical.findings import ChargerHealth
from flows import fastpath, quarantine
from flows.charger import OUTPUT_TABLES, ChargerPipeline, Output
from flows.config import FlowConfig
from flows.health import MINUTE, MinuteRun

SHARDS = 8
# The key of shard i. Bytewax sends a key to worker ``hash(key) % workers``; these names hash
# to 0..7 modulo 8, so 1, 2, 4 or 8 workers each hold an equal number of shards. (With
# "shard-0".."shard-7", one of 2 workers held 6 shards: it did 3/4 of a 2-process replay.)
# tests/flows/test_shard_routing.py checks this against the installed Bytewax. Changing a
# key moves that shard's recovery state: ``LAYOUT`` names them, and a flow refuses a recovery
# store written under another layout (``chargeline replay`` rebuilds it).
SHARD_KEYS = ("shard-0-1", "shard-1-5", "shard-2-8", "shard-3-5", "shard-4-17", "shard-5-4",
              "shard-6-28", "shard-7-7")
LAYOUT = "shards " + " ".join(SHARD_KEYS)
FLUSH_ROWS = 50_000
HOUR_NS = 3600 * 10**9
OutItem = tuple[str, pa.RecordBatch]
ShardItem = tuple[str, pa.Table | None, int]
NEVER_IN = frozenset({RecordKind.auth_failed, RecordKind.refused})


def shard_of(charge_point_id: str) -> int:
    """The shard a charger's state lives in: fixed by its id, whatever the workers."""
    return zlib.crc32(charge_point_id.encode()) % SHARDS


def split_by_shard(item: tuple[str, Any, int]) -> list[tuple[str, ShardItem]]:
    """A source item → shard items (ticks go to every shard, frames to theirs).

    Frames stay an Arrow table until their shard's step unpacks them: cheap to move between
    worker processes, and the unpacking is spread over the workers.
    """
    kind, table, clock = item
    if kind == "tick":  # to every shard, or to those named (a Kafka partition's)
        keys = SHARD_KEYS if table is None else [SHARD_KEYS[i] for i in table]
        return [(key, ("tick", None, clock)) for key in keys]
    if table.column("raw").num_chunks > 1:  # 8 filters of a 2-chunk 20k-row table: 18 ms;
        table = table.combine_chunks()  # of one chunk: 8 ms (the journal's batches are
    row_shard, shards = row_shards(table)  # 10k rows replaying, a group commit's live)
    # Only the shards with frames: the others wait for the next tick (about once a second
    # live), or each frames item would flush every shard into a file of its own.
    return [(SHARD_KEYS[i], ("frames", table.filter(pc.equal(row_shard, i)), clock))
            for i in shards]


def row_shards(table: pa.Table) -> tuple[pa.Array, list[int]]:
    """Each frame's shard (by its charge point id), and the shards present, ascending."""
    ids = table.column("charge_point_id")
    unique = pc.unique(ids)
    shards = [shard_of(cp) for cp in unique.to_pylist()]
    row_shard = pc.take(pa.array(shards, type=pa.int32()), pc.index_in(ids, value_set=unique))
    return row_shard, sorted(set(shards))


class ShardLogic(StatefulLogic[ShardItem, OutItem, dict[str, Any]]):
    """Chargers of one shard; snapshot is the pickled chargers plus the unflushed output."""

    def __init__(self, config: FlowConfig, resume: dict[str, Any] | None) -> None:
        self.config = config
        self.chargers: dict[str, ChargerPipeline] = (resume or {}).get("chargers", {})
        self.out = Output()
        self.packed: list[OutItem] = (resume or {}).get("packed", [])
        self.clock: int = (resume or {}).get("clock", 0)
        self.evicted_hour = 0
        self.fast = fastpath.enabled(config.fast_path)
        self.ready: list[OutItem] = []  # built as Arrow by the fast path, not yet due
        self.ready_rows = 0

    def on_item(self, value: ShardItem) -> tuple[Iterable[OutItem], bool]:
        kind, frames, clock = value
        if frames is not None and self.fast:
            self._ready(fastpath.apply_table(frames, self._charger, self._apply, self.out))
        else:
            for frame in from_table(RawFrame, frames) if frames is not None else ():
                self._apply(frame)
        if clock > self.clock:
            self.clock = clock
            for charger in self.chargers.values():
                charger.advance(clock, self.out)
            self._evict(clock)
        if kind == "tick" or self.packed or len(self.out) + self.ready_rows >= FLUSH_ROWS:
            return self._flush(), StatefulLogic.RETAIN
        return (), StatefulLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[OutItem], bool]:
        return self._flush(), StatefulLogic.RETAIN

    def snapshot(self) -> dict[str, Any]:
        self._pack()
        return {"chargers": self.chargers, "packed": self.packed, "clock": self.clock}

    def _apply(self, frame: RawFrame) -> None:
        """One frame through its charger's pipeline; what raises is quarantined, never a stop.
        A handshake refused before it got in (wrong credentials, unknown id) creates no
        charger: its record is in the frames table, and that is all it is."""
        if frame.record_kind in NEVER_IN and frame.charge_point_id not in self.chargers:
            return
        try:
            self._charger(frame.charge_point_id).apply(frame, self.out)
        except Exception as error:
            event = quarantine.of_frame(frame, error)
            self.out.events.append(event)
            self.out.alerts.append(quarantine.alert_of(event))

    def _ready(self, events: pa.RecordBatch | None) -> None:
        if events is not None:
            self.ready.append(("events", events))
            self.ready_rows += events.num_rows

    def _evict(self, now: int) -> None:
        """Chargers gone for ``evict_after_s`` leave the state (walked, pickled every
        snapshot); checked once per simulated hour of clock, not per tick."""
        if now // HOUR_NS == self.evicted_hour:
            return
        self.evicted_hour = now // HOUR_NS
        for cp in [cp for cp, c in self.chargers.items() if c.evictable(now)]:
            del self.chargers[cp]

    def _charger(self, charge_point_id: str) -> ChargerPipeline:
        charger = self.chargers.get(charge_point_id)
        if charger is None:
            charger = self.chargers[charge_point_id] = ChargerPipeline(charge_point_id,
                                                                       self.config)
        return charger

    def _flush(self) -> list[OutItem]:
        self._pack()
        packed, self.packed = self.packed, []
        return packed

    def _pack(self) -> None:
        """Buffered records → Arrow batches, one per table."""
        out, self.out = self.out, Output()
        for table, rows in out.tables():
            if rows:
                self.packed += _packed(table, rows)
        if out.minute_runs:
            self.packed += _minute_rows(out.minute_runs)
        self.packed += self.ready
        self.ready, self.ready_rows = [], 0


def _minute_rows(runs: list[MinuteRun]) -> list[OutItem]:
    """The runs' ``charger_health`` rows: each first row, repeated a minute later each time
    (Arrow take and add, not a record a row)."""
    try:
        firsts = to_batch(ChargerHealth, [run.first for run in runs])
    except (ValueError, TypeError, OverflowError, pa.ArrowException):  # text Arrow refuses
        return _packed("charger_health", [replace(run.first, minute=run.first.minute + k * MINUTE,
                                                  updated_at=run.first.updated_at + k * MINUTE)
                                          for run in runs for k in range(run.count)])
    rows = firsts.take(pa.array([i for i, run in enumerate(runs) for _ in range(run.count)],
                                pa.int64()))
    later = pa.array([k * MINUTE for run in runs for k in range(run.count)], pa.int64())
    for name in ("minute", "updated_at"):
        at = pc.add(rows.column(name).cast(pa.int64()), later).cast(TIMESTAMP_NS)
        i = rows.schema.get_field_index(name)
        rows = rows.set_column(i, rows.schema.field(i), at)
    return [("charger_health", rows.replace_schema_metadata(firsts.schema.metadata))]


def _packed(table: str, rows: list[Any]) -> list[OutItem]:
    """``rows`` as one Arrow batch; a row that cannot be packed (text no Arrow string holds)
    is quarantined in its place — the rest of the batch is written."""
    try:
        return [(table, to_batch(OUTPUT_TABLES[table], rows))]
    except (ValueError, TypeError, OverflowError, pa.ArrowException):
        pass
    good: list[Any] = []
    bad: list[CanonicalEvent] = []
    for row in rows:
        try:
            to_batch(OUTPUT_TABLES[table], [row])
            good.append(row)
        except (ValueError, TypeError, OverflowError, pa.ArrowException) as error:
            bad.append(quarantine.of_record(row, error))
    out = [(table, to_batch(OUTPUT_TABLES[table], good))] if good else []
    return [*out, ("events", to_batch(CanonicalEvent, bad)),
            ("alerts", to_batch(Alert, [quarantine.alert_of(e) for e in bad]))]
