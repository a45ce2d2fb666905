"""``WarehouseSink``: the Bytewax sink the flows write through.

Items are ``(table name, pa.RecordBatch)`` with the table's canonical schema. Each worker
writes its own files (``DynamicSink``), batches of the same table in one Bytewax batch being
concatenated into one file per day. Bytewax recovery replays at-least-once; the views dedupe.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pyarrow as pa
from bytewax.outputs import DynamicSink, StatelessSinkPartition

from warehouse.writer import WarehouseWriter

Item = tuple[str, pa.RecordBatch]


class _WarehousePartition(StatelessSinkPartition[Item]):
    def __init__(self, writer: WarehouseWriter) -> None:
        self._writer = writer

    def write_batch(self, items: list[Item]) -> None:
        by_table: dict[str, list[pa.RecordBatch]] = defaultdict(list)
        for table, batch in items:
            by_table[table].append(batch)
        for table, batches in by_table.items():
            data = pa.Table.from_batches(batches) if len(batches) > 1 else batches[0]
            self._writer.write(table, data)


class WarehouseSink(DynamicSink[Item]):
    """Write ``(table, batch)`` items as Parquet under ``<data_dir>/warehouse``: into the
    current generation, or into ``root``, the generation a replay builds.

    Never opens the DuckDB catalog (readers hold it); it only makes sure the catalog exists
    when the flow starts, so dashboards have views to open.
    """

    def __init__(self, data_dir: Path, durable: bool = True, root: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.durable = durable
        self.root = root

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _WarehousePartition:
        from warehouse.catalog import ensure

        writer = WarehouseWriter(self.data_dir, durable=self.durable, root=self.root)
        ensure(self.data_dir)
        return _WarehousePartition(writer)
