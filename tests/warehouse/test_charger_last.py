"""A charger silent for days stays in ``charger_status`` (offline, with its last-seen time),
and the status reads a bounded number of files however long the history."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource, run_main

from canonical import ChargerHealth, to_batch
from tests.warehouse.conftest import DAY, MIN, T0, Put, health
from warehouse import catalog
from warehouse.charger_last import MERGE_EVERY
from warehouse.layout import data_files, partitions
from warehouse.sink import WarehouseSink
from warehouse.writer import WarehouseWriter

STATUS = ("select charge_point_id, online, last_seen_at, last_minute, firmware_version, "
          "response_time_ms, power_w from charger_status order by 1")


def at(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def files_read(data_dir: Path, sql: str) -> int:
    """Parquet files DuckDB opened to answer ``sql`` (``explain analyze``)."""
    con = catalog.connect(data_dir)
    try:
        plan = "\n".join(str(row[-1]) for row in con.sql(f"explain analyze {sql}").fetchall())
    finally:
        con.close()
    return sum(int(n) for n in re.findall(r"Total Files Read:\s*(\d+)", plan))


def file_count(data_dir: Path, table: str) -> int:
    return sum(len(data_files(p)) for p in partitions(data_dir, table))


def a_gone_charger_and_ten_days_of_another(put: Put) -> None:
    """CP-gone: an hour of health at T0 (frames until minute 30, online until 45), then
    nothing. CP1: ten days more, a batch every 4 hours, as a flow writes them."""
    put("charger_health", [
        health(m, charge_point_id="CP-gone", frames_in=5 if m <= 30 else 0, online=m < 45,
               firmware_version="0.9" if m < 50 else None, response_time_ms=300.0,
               power_w=None) for m in range(60)])
    for batch in range(10 * 6):
        put("charger_health", [health(60 + batch * 240 + m) for m in range(0, 240, 30)])


def test_a_charger_silent_for_ten_days_is_listed_offline_with_its_last_seen_time(
        put: Put, rows: Any, data_dir: Path) -> None:
    a_gone_charger_and_ten_days_of_another(put)
    last_cp1 = T0 + (60 + 59 * 240 + 210) * MIN
    assert rows(STATUS) == [
        {"charge_point_id": "CP-gone", "online": False, "last_seen_at": at(T0 + 30 * MIN),
         "last_minute": at(T0 + 59 * MIN), "firmware_version": "0.9",
         "response_time_ms": 300.0, "power_w": None},
        {"charge_point_id": "CP1", "online": True, "last_seen_at": at(last_cp1),
         "last_minute": at(last_cp1), "firmware_version": "1.2.3", "response_time_ms": 120.0,
         "power_w": 7000.0}]
    assert last_cp1 - T0 > 10 * DAY


def test_the_status_reads_a_bounded_number_of_files(put: Put, data_dir: Path) -> None:
    a_gone_charger_and_ten_days_of_another(put)
    catalog.ensure(data_dir)
    assert file_count(data_dir, "charger_health") > 60
    assert file_count(data_dir, "charger_last") <= MERGE_EVERY + 1
    assert files_read(data_dir, "select * from charger_status") <= MERGE_EVERY + 2


def test_latest_write_of_the_latest_minute_and_latest_known_attributes(put: Put,
                                                                       rows: Any) -> None:
    put("charger_health", [health(4, power_w=1000.0, response_time_ms=300.0),
                           health(5, power_w=9000.0, updated_at=T0 + 7 * MIN)])
    put("charger_health", [health(5, power_w=2000.0, response_time_ms=None,
                                  updated_at=T0 + 6 * MIN)])
    put("charger_health", [health(6, power_w=None, response_time_ms=None, vendor=None,
                                  frames_in=0, online=False)])
    put("charger_health", [health(6, power_w=None, response_time_ms=None, vendor=None,
                                  frames_in=0, online=False)])  # delivered twice
    assert rows("select online, last_seen_at, power_w, response_time_ms, vendor "
                "from charger_status") == [
        {"online": False, "last_seen_at": at(T0 + 5 * MIN), "power_w": None,
         "response_time_ms": 120.0, "vendor": "ABB"}]


def test_a_warehouse_written_before_charger_last_gets_it_from_its_health(
        put: Put, rows: Any, data_dir: Path) -> None:
    a_gone_charger_and_ten_days_of_another(put)
    expected = rows(STATUS)
    shutil.rmtree(data_dir / "warehouse" / "current" / "charger_last")
    WarehouseWriter(data_dir, durable=False)
    assert file_count(data_dir, "charger_last") == 1
    assert rows(STATUS) == expected


def test_the_flows_sink_keeps_charger_last(data_dir: Path, rows: Any) -> None:
    batches = [to_batch(ChargerHealth, [health(m, charge_point_id=f"CP{m % 3}")])
               for m in range(3 * MERGE_EVERY)]
    flow = Dataflow("charger_last_test")
    stream = op.input("inp", flow, TestingSource([("charger_health", b) for b in batches]))
    op.output("out", stream, WarehouseSink(data_dir, durable=False))
    run_main(flow)
    assert file_count(data_dir, "charger_last") <= MERGE_EVERY + 1
    assert rows("select charge_point_id, last_minute from charger_status order by 1") == [
        {"charge_point_id": f"CP{i}", "last_minute": at(T0 + (3 * MERGE_EVERY - 3 + i) * MIN)}
        for i in range(3)]
