"""Warehouse generations: a replay builds a whole new set of tables beside the current one,
then swaps it in with one rename, so readers never see a half-built warehouse.

``warehouse/current`` is a symlink to ``gen-<n>``; the catalog's views glob through it. A
replay ``create``s ``gen-<n+1>`` and writes there (``WarehouseWriter(root=...)``); when it has
finished, ``promote`` points ``current`` at it under the readers' exclusive lock (a query
running through ``catalog.query``/``reading`` holds the shared side, so it reads the old
generation or the new one, never a mix nor a gap), then removes the old one. A replay that
fails or is interrupted leaves its generation unpointed; ``discard`` (or ``stale`` at the
next start) removes it. The catalog itself never changes: it needs no reload.

Who may create and promote is decided by the caller (``chargeline flow``/``replay`` hold the
data dir's flow lock): two replays at once would race for the same number.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from canonical.errors import ConfigError
from warehouse.layout import (
    CURRENT,
    GENERATION_PREFIX,
    ensure_current,
    generation_name,
    point,
    readers_lock,
    warehouse_dir,
)
from warehouse.tables import TABLES
from warehouse.writer import WarehouseWriter


def current(data_dir: Path) -> Path:
    """The current generation's directory (``warehouse/gen-<n>``), created on first use."""
    pointer = ensure_current(data_dir, list(TABLES))
    return pointer.parent / os.readlink(pointer)


def number(generation: Path) -> int:
    """``n`` of ``gen-<n>``; a ConfigError for any other name."""
    digits = generation.name.removeprefix(GENERATION_PREFIX)
    if not generation.name.startswith(GENERATION_PREFIX) or not digits.isdigit():
        raise ConfigError(f"not a warehouse generation: {str(generation)!r}")
    return int(digits)


def all_generations(data_dir: Path) -> list[Path]:
    """Every ``gen-<n>`` directory, oldest first."""
    root = warehouse_dir(data_dir)
    found = [p for p in root.glob(f"{GENERATION_PREFIX}*")
             if p.is_dir() and not p.is_symlink()
             and p.name.removeprefix(GENERATION_PREFIX).isdigit()]
    return sorted(found, key=number)


def create(data_dir: Path, durable: bool = True) -> Path:
    """A new, empty generation (every table seeded), numbered after every existing one."""
    last = max((number(g) for g in all_generations(data_dir)), default=number(current(data_dir)))
    generation = warehouse_dir(data_dir) / generation_name(last + 1)
    generation.mkdir()
    WarehouseWriter(data_dir, durable=durable, root=generation)
    return generation


def promote(data_dir: Path, generation: Path) -> Path:
    """Make ``generation`` current in one rename, then remove the one it replaced (returned).

    Waits for running queries (readers' lock) and for a running compaction or prune (they
    resolve files through ``current``, so one straddling the swap would merge old rows into
    the new generation)."""
    old = current(data_dir)
    if generation.parent != old.parent or not generation.is_dir():
        raise ConfigError(f"no generation to promote at {str(generation)!r}")
    with _compaction_lock(data_dir), readers_lock(data_dir, exclusive=True):
        point(old.parent / CURRENT, generation.name)
    if old != generation:
        shutil.rmtree(old, ignore_errors=True)
    return old


def discard(data_dir: Path, generation: Path) -> None:
    """Remove a generation that is not current (a replay that did not finish)."""
    if generation == current(data_dir):
        raise ConfigError(f"{str(generation)!r} is the current generation")
    shutil.rmtree(generation, ignore_errors=True)


def stale(data_dir: Path) -> list[Path]:
    """Generations other than the current one: left by a replay that died, or by a promote
    that died before it removed the old one."""
    now = current(data_dir)
    return [g for g in all_generations(data_dir) if g != now]


@contextmanager
def _compaction_lock(data_dir: Path) -> Iterator[None]:
    """``compact.lock`` (maintenance.py's), waited for rather than refused."""
    fd = os.open(warehouse_dir(data_dir) / "compact.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
