"""The sink inside a real (small) Bytewax run."""

from __future__ import annotations

from pathlib import Path

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource, run_main

from canonical import Alert, SessionRecord, to_batch
from tests.warehouse.conftest import alert, session
from warehouse import catalog
from warehouse.sink import WarehouseSink


def test_sink_writes_items_and_views_dedupe_redelivery(data_dir: Path, rows) -> None:
    sessions = to_batch(SessionRecord, [session("1"), session("2", energy_wh=3000.0)])
    alerts = to_batch(Alert, [alert("a1")])
    items = [("sessions", sessions), ("alerts", alerts), ("sessions", sessions)]
    flow = Dataflow("sink_test")
    stream = op.input("inp", flow, TestingSource(items, batch_size=2))
    op.output("out", stream, WarehouseSink(data_dir, durable=False))
    run_main(flow)
    assert catalog.catalog_path(data_dir).exists()
    got = rows("select count(*) n, sum(energy_kwh) kwh from sessions")
    assert got == [{"n": 2, "kwh": 10.0}]
    assert rows("select alert_id from alerts") == [{"alert_id": "a1"}]
