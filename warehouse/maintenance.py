"""Compaction and retention: the only code that removes warehouse files.

Both keep readers correct while they run:
- a merged file is renamed into place *before* the files it replaces are removed, so a query
  sees the rows once or twice, never zero times — and the views dedupe the twice;
- files are removed only under the exclusive side of the readers' lock
  (``catalog.deleting``), so a query run through ``catalog.query``/``catalog.reading``
  never has a file vanish between DuckDB listing it and opening it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from canonical.errors import ConfigError
from warehouse.catalog import deleting
from warehouse.layout import (
    PARTITION_PREFIX,
    data_files,
    partitions,
    warehouse_dir,
    write_atomically,
)
from warehouse.tables import TABLES, resolve
from warehouse.writer import conform

SMALL_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CompactionReport:
    """What one compaction did: files merged into ``files_written``, bytes before/after."""

    files_merged: int = 0
    files_written: int = 0
    bytes_before: int = 0
    bytes_after: int = 0

    def __add__(self, other: CompactionReport) -> CompactionReport:
        return CompactionReport(*(a + b for a, b in zip(self.astuple(), other.astuple(),
                                                        strict=True)))

    def astuple(self) -> tuple[int, int, int, int]:
        return (self.files_merged, self.files_written, self.bytes_before, self.bytes_after)


def compact(data_dir: Path, tables: list[str] | None = None,
            small_file_bytes: int = SMALL_FILE_BYTES) -> CompactionReport:
    """Merge each partition's small files into one, sorted by charger then time.

    Files at least ``small_file_bytes`` big are left alone. One compaction at a time: a
    second one raises ConfigError rather than merging the same files twice.
    """
    report = CompactionReport()
    with _exclusive(data_dir, "compact.lock"):
        for name in tables or list(TABLES):
            spec = resolve(name)
            for partition in partitions(data_dir, spec.name):
                small = [p for p in data_files(partition) if p.stat().st_size < small_file_bytes]
                if len(small) >= 2:
                    report += _merge(data_dir, spec.name, partition, small)
    return report


def _merge(data_dir: Path, table: str, partition: Path, files: list[Path]) -> CompactionReport:
    spec = resolve(table)
    merged = conform(spec, pa.concat_tables(
        [pq.read_table(p) for p in files], promote_options="permissive"))
    merged = merged.sort_by([("charge_point_id", "ascending"), (spec.day_column, "ascending")])
    before = sum(p.stat().st_size for p in files)
    written = write_atomically(merged, partition)
    with deleting(data_dir):
        for path in files:
            path.unlink(missing_ok=True)
    return CompactionReport(len(files), 1, before, written.stat().st_size)


def prune_frames(data_dir: Path, older_than_days: int, now: datetime) -> list[str]:
    """Remove frame partitions whose day ended more than ``older_than_days`` before ``now``.

    Frames only: sessions, events, alerts and health are never pruned (finance and the
    timeline's summary rows outlive the raw traffic). Returns the days removed.
    """
    if older_than_days < 0:
        raise ConfigError(f"--older-than must be >= 0 days, got {older_than_days}")
    if now.tzinfo is None:
        raise ConfigError(f"now must be timezone-aware, got {now!r}")
    cutoff = (now.astimezone(UTC) - timedelta(days=older_than_days)).date().isoformat()
    doomed = [p for p in partitions(data_dir, "frames")
              if p.name.removeprefix(PARTITION_PREFIX) < cutoff]
    with _exclusive(data_dir, "compact.lock"), deleting(data_dir):
        for partition in doomed:
            shutil.rmtree(partition)
    return [p.name.removeprefix(PARTITION_PREFIX) for p in doomed]


@contextmanager
def _exclusive(data_dir: Path, name: str) -> Iterator[None]:
    path = warehouse_dir(data_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"another compaction or prune holds {str(path)!r}") from None
        yield
    finally:
        os.close(fd)
