"""``charger_last``: each charger's latest known state, kept by the writer of ``charger_health``.

The flow writes a health row per known charger per minute; a charger that goes silent (or
whose state the flow evicts) stops getting rows. Its last state must stay findable however
long ago that was, without a page open reading all of ``charger_health``: so every health
write also appends that batch folded to one row per charger (``from_health``), and every
``MERGE_EVERY`` appends the writer folds the whole table into one file (``Merger``). The
``charger_status`` view folds what it finds once more, so it reads at most a few dozen small
files per writer, whatever the history.

Folding keeps, per charger, the row of the latest minute (ties: the latest write), and for
each attribute that may be missing (vendor, drift, response time…) the latest value known.
That is exact when a charger's minutes arrive in time order, as the flow writes them (a
repeated delivery of the same rows changes nothing). Idempotent: folding folded rows again
gives the same rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from canonical import UtcNs, schema_of
from warehouse.layout import (
    PARTITION_PREFIX,
    data_files,
    partitions_in,
    readers_lock,
    write_atomically,
)

log = logging.getLogger(__name__)

TABLE = "charger_last"
SOURCE = "charger_health"
MERGE_EVERY = 16  # appends by one writer between two merges: at most ~16 files per writer
DELETE_WAIT_S = 0.2  # how long a merge waits for readers before leaving its inputs for later
AT_LATEST = ("online", "sessions_active", "power_w", "updated_at")
LATEST_KNOWN = ("vendor", "model", "firmware_version", "drift_s", "heartbeat_interval_s",
                "response_time_ms")


@dataclass(frozen=True, slots=True)
class ChargerLast:
    """A charger's latest known state, as of the health rows written of it (server time, UTC).

    ``online``, ``sessions_active``, ``power_w`` and ``updated_at`` are those of the latest
    minute (``last_minute``); the attributes in ``LATEST_KNOWN`` the latest non-null ones;
    ``last_seen_at`` the latest minute in which the charger sent anything (``frames_in > 0``).
    """

    charge_point_id: str
    last_minute: UtcNs
    online: bool
    last_seen_at: UtcNs | None
    vendor: str | None
    model: str | None
    firmware_version: str | None
    drift_s: float | None
    heartbeat_interval_s: float | None
    response_time_ms: float | None
    sessions_active: int
    power_w: float | None
    updated_at: UtcNs


def from_health(health: pa.Table) -> pa.Table:
    """One ``charger_last`` row per charger of ``health`` (``charger_health`` rows)."""
    seen = pc.if_else(pc.greater(health["frames_in"], 0), health["minute"],
                      pa.scalar(None, health.schema.field("minute").type))
    rows = health.select(["charge_point_id", "minute", *AT_LATEST, *LATEST_KNOWN])
    rows = rows.rename_columns(["last_minute" if n == "minute" else n for n in rows.column_names])
    return fold(rows.append_column("last_seen_at", seen))


def fold(rows: pa.Table) -> pa.Table:
    """``charger_last`` rows folded to one per charger (see the module docstring)."""
    ordered = rows.sort_by([("charge_point_id", "ascending"), ("last_minute", "ascending"),
                            ("updated_at", "ascending")])
    keep_nulls = pc.ScalarAggregateOptions(skip_nulls=False)
    aggregates = [("last_minute", "max"), ("last_seen_at", "max"),
                  *((c, "last", keep_nulls) for c in AT_LATEST),
                  *((c, "last", pc.ScalarAggregateOptions()) for c in LATEST_KNOWN)]
    folded = ordered.group_by("charge_point_id", use_threads=False).aggregate(aggregates)
    names = {f"{c}_{a[0]}": c for c, *a in aggregates}
    folded = folded.rename_columns([names.get(n, n) for n in folded.column_names])
    return folded.select(SCHEMA.names).cast(SCHEMA)


SCHEMA = schema_of(ChargerLast)


class Merger:
    """Folds one generation's ``charger_last`` files into one, every ``MERGE_EVERY`` appends.

    The merged file is renamed in before its inputs go, and they go under the readers' lock
    (``readers.lock``, exclusive): a query sees each charger once or twice, never zero times.
    If readers hold the lock past ``DELETE_WAIT_S`` the inputs stay (the view folds them
    away) and go at a later append. Several writers merging at once is safe: each merged file
    holds all it replaced.
    """

    def __init__(self, data_dir: Path, root: Path, durable: bool) -> None:
        self.data_dir = data_dir
        self.table_dir = root / TABLE
        self.durable = durable
        self.appends = 0
        self.doomed: list[Path] = []

    def appended(self) -> None:
        """Count one append; merge when due, and remove what an earlier merge left."""
        self.appends += 1
        if self.appends >= MERGE_EVERY:
            self.merge()
        if self.doomed:
            self._remove()

    def merge(self) -> Path | None:
        """Fold every file of the table into one (in the newest day's partition)."""
        self.appends = 0
        inputs = [f for p in partitions_in(self.table_dir) for f in data_files(p)]
        if len(inputs) < 2:
            return None
        rows = fold(pa.concat_tables([pq.read_table(f, schema=SCHEMA) for f in inputs]))
        merged = write_atomically(rows, inputs[-1].parent, self.durable)
        self.doomed += inputs
        return merged

    def _remove(self) -> None:
        with readers_lock(self.data_dir, exclusive=True, wait_s=DELETE_WAIT_S) as held:
            if not held:
                log.info("charger_last: readers busy, %d merged files left for later",
                         len(self.doomed))
                return
            for path in self.doomed:
                path.unlink(missing_ok=True)
        self.doomed = []


def backfill(health_dir: Path, table_dir: Path, durable: bool) -> Path | None:
    """``charger_last`` from every ``charger_health`` file under ``health_dir``, as one file:
    for a warehouse written before the table existed. Reads one file at a time."""
    columns = ["charge_point_id", "minute", "frames_in", *AT_LATEST, *LATEST_KNOWN]
    folded = [from_health(pq.read_table(f, columns=columns))
              for p in partitions_in(health_dir) for f in data_files(p)]
    folded = [t for t in folded if t.num_rows]
    if not folded:
        return None
    rows = fold(pa.concat_tables(folded))
    newest = pc.max(rows["last_minute"]).as_py().date().isoformat()
    return write_atomically(rows, table_dir / f"{PARTITION_PREFIX}{newest}", durable)
