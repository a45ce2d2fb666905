"""Where the warehouse keeps its files, and the small file-system steps every writer shares.

Layout under ``<data_dir>/warehouse/``::

    catalog.duckdb                                  views only (see catalog.py)
    current -> gen-<n>                              the generation readers read (a symlink)
    gen-<n>/<table>/date=YYYY-MM-DD/part-<uuid>.parquet   data, zstd, day (UTC) of the day column
    gen-<n>/<table>/_seed/part-seed.parquet         zero rows: lets views work before any data
    readers.lock                                    shared by queries, exclusive while files go away

Files are only ever added by an atomic rename of a finished temporary file (``.*.tmp``,
invisible to the views' ``*.parquet`` globs), so a reader never sees half a file. The views
glob through ``current``, so a whole new generation (what ``chargeline replay`` builds, see
``generations.py``) replaces the old one with one rename of the pointer.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from canonical.errors import ConfigError

SEED_DIR = "_seed"
PARTITION_PREFIX = "date="
CURRENT = "current"
GENERATION_PREFIX = "gen-"
READERS_LOCK = "readers.lock"


def warehouse_dir(data_dir: Path) -> Path:
    """``<data_dir>/warehouse``; a ConfigError if ``data_dir`` exists but is not a directory."""
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"data dir is not a directory: {str(data_dir)!r}")
    return data_dir / "warehouse"


def tables_root(data_dir: Path) -> Path:
    """``<data_dir>/warehouse/current``: the current generation, as readers and the live flow
    see it (through the pointer, not resolved)."""
    return warehouse_dir(data_dir) / CURRENT


def table_dir(data_dir: Path, table: str) -> Path:
    return tables_root(data_dir) / table


def table_glob(data_dir: Path, table: str) -> str:
    """The glob the views read: every data file and the seed of the current generation,
    absolute, through the ``current`` pointer (so the views follow a new generation)."""
    return str(warehouse_dir(data_dir).resolve() / CURRENT / table / "*" / "*.parquet")


def generation_name(number: int) -> str:
    return f"{GENERATION_PREFIX}{number}"


def ensure_current(data_dir: Path, tables: list[str]) -> Path:
    """Make ``current`` point at a generation and return ``tables_root``: on first use it is
    ``gen-0``, holding the ``tables`` of an older layout (``warehouse/<table>/``), moved in.
    Idempotent; safe when several processes start at once."""
    pointer = tables_root(data_dir)
    if pointer.is_symlink():
        return pointer
    with readers_lock(data_dir, exclusive=True):
        if not pointer.is_symlink():
            first = pointer.parent / generation_name(0)
            first.mkdir(parents=True, exist_ok=True)
            for table in tables:
                if (pointer.parent / table).is_dir() and not (first / table).exists():
                    os.rename(pointer.parent / table, first / table)
            point(pointer, first.name)
    return pointer


def point(pointer: Path, target: str) -> None:
    """Make the symlink ``pointer`` name ``target`` (relative, so the data dir can move) in
    one rename, durably: a reader sees the old target or the new one, never none."""
    tmp = pointer.with_name(f".{pointer.name}.{uuid.uuid4().hex}.tmp")
    os.symlink(target, tmp)
    os.replace(tmp, pointer)
    _fsync(pointer.parent)


@contextmanager
def readers_lock(data_dir: Path, exclusive: bool, wait_s: float | None = None) -> Iterator[bool]:
    """Hold ``warehouse/readers.lock``: shared by queries, exclusive while files go away or the
    generation changes. With ``wait_s`` an exclusive holder gives up after that long and
    yields False (it holds nothing then); otherwise it waits and yields True."""
    path = warehouse_dir(data_dir) / READERS_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        yield _flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, wait_s)
    finally:
        os.close(fd)


def _flock(fd: int, mode: int, wait_s: float | None) -> bool:
    if wait_s is None:
        fcntl.flock(fd, mode)
        return True
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def partitions(data_dir: Path, table: str) -> list[Path]:
    """The table's ``date=`` directories in the current generation, oldest first."""
    return partitions_in(table_dir(data_dir, table))


def partitions_in(root: Path) -> list[Path]:
    """The ``date=`` directories under one table directory, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PARTITION_PREFIX))


def data_files(partition: Path) -> list[Path]:
    return sorted(partition.glob("part-*.parquet"))


def write_atomically(table: pa.Table, directory: Path, durable: bool = True) -> Path:
    """Write ``table`` as ``directory/part-<uuid>.parquet`` (zstd) via a hidden temporary file.

    With ``durable`` the file and its directory are fsynced, so after a crash the file is
    either whole or absent — the at-least-once contract the flow's recovery relies on.
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = f"part-{uuid.uuid4().hex}.parquet"
    tmp = directory / f".{name}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    if durable:
        _fsync(tmp)
    os.replace(tmp, directory / name)
    if durable:
        _fsync(directory)
    return directory / name


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
