"""``WarehouseWriter``: Arrow batches of canonical records in, Parquet files out.

Writes are at-least-once: the same rows may be written again (a Bytewax recovery, a replay),
and the views deduplicate them by natural key (see tables.py). A write is one file per day
touched, each appearing atomically. A ``charger_health`` write also keeps ``charger_last``
(see charger_last.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from canonical.errors import ConfigError
from warehouse import charger_last
from warehouse.layout import PARTITION_PREFIX, SEED_DIR, ensure_current, write_atomically
from warehouse.tables import TABLES, Table, resolve

_NS_PER_DAY = 86_400 * 1_000_000_000


class WarehouseWriter:
    """Append canonical record batches to the warehouse under ``<data_dir>/warehouse``.

    Writes go to the current generation (``warehouse/current``), or to ``root`` when given:
    the generation a replay builds (see generations.py). Creating one lays out every table
    with its zero-row seed file, so the catalog's views answer (with no rows) before the
    first write; a ``charger_last`` missing beside existing health rows (a warehouse written
    before it existed) is first built from them. Not thread-safe; one per thread or process
    is fine — files never collide (uuid names).
    """

    def __init__(self, data_dir: Path, durable: bool = True, root: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.durable = durable
        self.root = Path(root) if root is not None else ensure_current(self.data_dir,
                                                                       list(TABLES))
        for table in TABLES.values():
            seed_dir = self.root / table.name / SEED_DIR
            if not (seed_dir / "part-seed.parquet").exists():
                if table.name == charger_last.TABLE:
                    charger_last.backfill(self.root / charger_last.SOURCE,
                                          self.root / table.name, durable)
                write_seed(seed_dir, table)
        self._last = charger_last.Merger(self.data_dir, self.root, durable)

    def write(self, table: str, batch: pa.RecordBatch | pa.Table) -> list[Path]:
        """Write ``batch`` (exactly the table's canonical schema) and return the files made.

        Rows are split by the UTC day of the table's day column. An empty batch writes nothing.
        """
        spec = resolve(table)
        data = conform(spec, batch)
        if data.num_rows == 0:
            return []
        files = self._write(spec, data)
        if spec.name == charger_last.SOURCE:
            files += self._write(resolve(charger_last.TABLE), charger_last.from_health(data))
            self._last.appended()
        return files

    def _write(self, spec: Table, data: pa.Table) -> list[Path]:
        days = pc.divide(data[spec.day_column].cast(pa.int64()), _NS_PER_DAY)
        unique_days = days.unique().to_pylist()
        if len(unique_days) == 1:
            return [self._write_day(spec, unique_days[0], data)]
        return [self._write_day(spec, day, data.filter(pc.equal(days, day)))
                for day in sorted(unique_days)]

    def _write_day(self, spec: Table, day: int, data: pa.Table) -> Path:
        partition = self.root / spec.name / f"{PARTITION_PREFIX}{day_name(day)}"
        return write_atomically(data, partition, self.durable)


def day_name(day: int) -> str:
    """``YYYY-MM-DD`` of a day number (days since 1970-01-01, UTC)."""
    return datetime.fromtimestamp(day * 86_400, tz=UTC).date().isoformat()


def conform(spec: Table, batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """``batch`` as a table of ``spec``'s schema; a ConfigError naming the differing columns."""
    data = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    expected = spec.schema
    if data.schema.equals(expected, check_metadata=False):
        return data.replace_schema_metadata(expected.metadata)
    got = {f.name: f.type for f in data.schema}
    want = {f.name: f.type for f in expected}
    if set(got) == set(want):
        try:
            return data.select(expected.names).cast(expected)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    diff = sorted(n for n in set(got) | set(want) if got.get(n) != want.get(n))
    detail = ", ".join(f"{n}: got {got.get(n)}, want {want.get(n)}" for n in diff[:6])
    raise ConfigError(f"batch for table {spec.name!r} does not match its schema ({detail})")


def write_seed(seed_dir: Path, spec: Table) -> None:
    """The zero-row file that keeps the table's glob non-empty. Written atomically."""
    seed_dir.mkdir(parents=True, exist_ok=True)
    tmp = write_atomically(spec.schema.empty_table(), seed_dir, durable=False)
    tmp.replace(seed_dir / "part-seed.parquet")
