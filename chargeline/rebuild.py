"""What a replay builds beside what the live flow uses, and the swap when it has finished.

A replay rebuilds the warehouse tables and the flow's recovery store from the journal. It
writes both beside the current ones — a new warehouse generation ``warehouse/gen-<n>`` and
``<data_dir>/recovery.gen-<n>`` — so that until it finishes, dashboards and exports read the
old tables whole, and a replay that fails leaves a live flow its old state to resume from.
``finish`` then swaps the tables (one rename, see ``warehouse.generations``) and moves the
recovery store into place.

Callers hold the data dir's flow lock (``chargeline.flowlock``). ``settle``, run under it
before a flow or replay starts, completes a swap that died half way and removes what a
replay that died left behind.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from warehouse import generations
from warehouse.layout import warehouse_dir

RECOVERY = "recovery"
STAGED_PREFIX = f"{RECOVERY}.gen-"
RETIRED = f"{RECOVERY}.old"


@dataclass(frozen=True, slots=True)
class Rebuild:
    """Where one replay writes: its warehouse generation and its recovery store."""

    generation: Path
    recovery: Path

    @property
    def name(self) -> str:
        return self.generation.name


def staged(data_dir: Path, name: str) -> Rebuild:
    """The rebuild of generation ``name`` (``gen-<n>``), as a cluster member is told it."""
    generation = warehouse_dir(data_dir) / name
    generations.number(generation)  # refuses any other name
    return Rebuild(generation, data_dir / f"{RECOVERY}.{name}")


def begin(data_dir: Path, durable: bool = True) -> Rebuild:
    """A new generation and an empty place for its recovery store."""
    settle(data_dir)
    rebuild = staged(data_dir, generations.create(data_dir, durable).name)
    shutil.rmtree(rebuild.recovery, ignore_errors=True)
    return rebuild


def finish(data_dir: Path, rebuild: Rebuild) -> None:
    """Make the rebuild current: its tables first (what readers see), then its recovery store
    (what the next live flow resumes from). A crash between the two is completed by
    ``settle``: the staged store of the current generation is moved in then."""
    generations.promote(data_dir, rebuild.generation)
    _install(data_dir, rebuild.recovery)


def abandon(data_dir: Path, rebuild: Rebuild) -> None:
    """Remove what an unfinished rebuild wrote; the current tables and store stay."""
    generations.discard(data_dir, rebuild.generation)
    shutil.rmtree(rebuild.recovery, ignore_errors=True)


def settle(data_dir: Path) -> None:
    """Finish or clear what an interrupted replay left: the staged recovery store of the
    current generation is moved in; other staged stores and generations are removed."""
    current = generations.current(data_dir).name
    for store in sorted(data_dir.glob(f"{STAGED_PREFIX}*")):
        if store.name == f"{RECOVERY}.{current}":
            _install(data_dir, store)
        else:
            shutil.rmtree(store, ignore_errors=True)
    for generation in generations.stale(data_dir):
        shutil.rmtree(generation, ignore_errors=True)
    shutil.rmtree(data_dir / RETIRED, ignore_errors=True)


def _install(data_dir: Path, store: Path) -> None:
    """Replace ``<data_dir>/recovery`` by ``store``, each step a rename (re-runnable)."""
    live, retired = data_dir / RECOVERY, data_dir / RETIRED
    if not store.exists():
        return
    shutil.rmtree(retired, ignore_errors=True)
    if live.exists():
        os.rename(live, retired)
    os.rename(store, live)
    shutil.rmtree(retired, ignore_errors=True)
