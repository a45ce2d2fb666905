"""The dataflow: journal → adapters → per-charger logic → warehouse. Wiring only; the logic
lives in plain classes (``flows.charger``) that the stateful step calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bytewax.operators as op
import pyarrow as pa
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.outputs import Sink

from flows.config import FlowConfig
from flows.shard import ShardLogic, split_by_shard

Item = tuple[str, pa.RecordBatch]


def _frames_batch(item: tuple[str, Any, int]) -> Item | None:
    kind, table, _ = item
    return ("frames", table.combine_chunks().to_batches()[0]) if kind == "frames" else None


def get_flow(source: Source[Any], sink: Sink[Item], config: FlowConfig | None = None,
             track: Callable[[ShardLogic], ShardLogic] | None = None) -> Dataflow:
    """The chargeline dataflow from ``source`` (journal items) into ``sink``; ``track`` is
    handed every shard's logic as it is built (``flows.metrics`` reads their sessions)."""
    config = config or FlowConfig()
    watch = track or (lambda logic: logic)
    flow = Dataflow("chargeline")
    items = op.input("journal", flow, source)
    # ("frames", pa.Table, clock_ns) | ("tick", None, clock_ns)
    raw = op.filter_map("raw_frames", items, _frames_batch)
    # ("frames", pa.RecordBatch): the journal, as the warehouse's frames table
    sharded = op.flat_map("shard", items, split_by_shard)
    # (shard key, ("frames", pa.Table, clock_ns) | ("tick", None, clock_ns))
    found = op.stateful("process", sharded, lambda resume: watch(ShardLogic(config, resume)))
    # (shard key, (table name, pa.RecordBatch)) for events, sessions, alerts, charger_health
    tables = op.map("drop_key", found, lambda kv: kv[1])
    # (table name, pa.RecordBatch)
    op.output("warehouse", op.merge("all_tables", raw, tables), sink)
    return flow
