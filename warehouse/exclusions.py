"""Excluded downtime the operator recorded (``chargeline uptime exclude``): one Parquet file per
exclusion under ``<data_dir>/uptime/exclusions/``, read by the catalog's
``raw_uptime_exclusions`` and applied by ``int_port_downtime``.

They live outside the warehouse generations on purpose: they are the operator's statements,
not something the journal holds, so a ``chargeline replay`` must not lose them. A file is
added by an atomic rename and removed by ``remove``; a zero-row seed keeps the glob valid.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from canonical import from_table, schema_of, to_batch
from canonical.errors import ConfigError
from canonical.uptime import ExclusionCategory, UptimeExclusion
from warehouse.layout import write_atomically

EXCLUSIONS_DIR = ("uptime", "exclusions")
SEED = "part-seed.parquet"


def exclusions_dir(data_dir: Path) -> Path:
    return Path(data_dir).joinpath(*EXCLUSIONS_DIR)


def exclusions_glob(data_dir: Path) -> str:
    """What ``raw_uptime_exclusions`` reads: every exclusion file and the seed, absolute."""
    return str(exclusions_dir(data_dir).resolve() / "*.parquet")


def ensure_seed(data_dir: Path) -> None:
    """The zero-row file that lets the view answer before any exclusion exists."""
    directory = exclusions_dir(data_dir)
    if (directory / SEED).exists():
        return
    empty = schema_of(UptimeExclusion).empty_table()
    write_atomically(empty, directory, durable=False).replace(directory / SEED)


def check(exclusion: UptimeExclusion) -> None:
    """A ConfigError naming the bad value: an empty charger, a period that ends before it
    starts, a category the regulation does not list, a port below 0."""
    if not exclusion.charge_point_id:
        raise ConfigError("an exclusion needs a charge point id")
    if exclusion.excluded_until <= exclusion.excluded_from:
        raise ConfigError(f"exclusion ends ({exclusion.excluded_until} ns) at or before it "
                          f"starts ({exclusion.excluded_from} ns)")
    if exclusion.category not in ExclusionCategory.__members__:
        valid = ", ".join(ExclusionCategory)
        raise ConfigError(f"unknown exclusion category {exclusion.category!r}; valid: {valid}")
    if exclusion.connector_id is not None and exclusion.connector_id < 0:
        raise ConfigError(f"connector {exclusion.connector_id} is below 0")


def new_id() -> str:
    return f"ex-{uuid.uuid4().hex[:10]}"


def add(data_dir: Path, exclusion: UptimeExclusion) -> Path:
    """Record ``exclusion`` (checked first: nothing is written when it is bad). Durable: the
    file is fsynced before it is renamed into place."""
    check(exclusion)
    ensure_seed(data_dir)
    directory = exclusions_dir(data_dir)
    table = pa.Table.from_batches([to_batch(UptimeExclusion, [exclusion])])
    written = write_atomically(table, directory, durable=True)
    return written.rename(directory / f"{exclusion.exclusion_id}.parquet")


def listed(data_dir: Path) -> list[UptimeExclusion]:
    """Every recorded exclusion, by start time then id."""
    directory = exclusions_dir(data_dir)
    found: list[UptimeExclusion] = []
    for path in sorted(directory.glob("ex-*.parquet")):
        found += from_table(UptimeExclusion, pq.read_table(path))
    return sorted(found, key=lambda e: (e.excluded_from, e.exclusion_id))


def remove(data_dir: Path, exclusion_id: str) -> None:
    """Forget one exclusion; a ConfigError listing the known ids when there is none."""
    path = exclusions_dir(data_dir) / f"{exclusion_id}.parquet"
    if not exclusion_id.startswith("ex-") or not path.exists():
        known = ", ".join(e.exclusion_id for e in listed(data_dir)) or "none"
        raise ConfigError(f"no exclusion {exclusion_id!r}; recorded: {known}")
    path.unlink()
