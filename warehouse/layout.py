"""Where the warehouse keeps its files, and the small file-system steps every writer shares.

Layout under ``<data_dir>/warehouse/``::

    catalog.duckdb                                  views only (see catalog.py)
    <table>/date=YYYY-MM-DD/part-<uuid>.parquet     data, zstd, day (UTC) of the table's day column
    <table>/_seed/part-seed.parquet                 zero rows: lets views work before any data
    readers.lock                                    shared by queries, exclusive while files go away

Files are only ever added by an atomic rename of a finished temporary file (``.*.tmp``,
invisible to the views' ``*.parquet`` globs), so a reader never sees half a file.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from canonical.errors import ConfigError

SEED_DIR = "_seed"
PARTITION_PREFIX = "date="


def warehouse_dir(data_dir: Path) -> Path:
    """``<data_dir>/warehouse``; a ConfigError if ``data_dir`` exists but is not a directory."""
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"data dir is not a directory: {str(data_dir)!r}")
    return data_dir / "warehouse"


def table_dir(data_dir: Path, table: str) -> Path:
    return warehouse_dir(data_dir) / table


def table_glob(data_dir: Path, table: str) -> str:
    """The glob the views read: every data file and the seed, absolute."""
    return str(table_dir(data_dir, table).resolve() / "*" / "*.parquet")


def partitions(data_dir: Path, table: str) -> list[Path]:
    """The table's ``date=`` directories, oldest first."""
    root = table_dir(data_dir, table)
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
