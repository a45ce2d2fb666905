"""The views over real Parquet files: exactly-once results from at-least-once writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from canonical import SessionRecord, schema_of, to_batch
from canonical.errors import ConfigError, RegistryError
from tests.warehouse.conftest import MIN, T0, alert, event, frame, health, session
from warehouse import catalog
from warehouse.writer import WarehouseWriter


def test_views_answer_before_any_data(rows) -> None:
    for view in ("frames", "events", "sessions", "session_versions", "alerts", "charger_health",
                 "session_timeline", "charger_status", "fleet_health", "finance_sessions",
                 "firmware"):
        assert rows(f"select count(*) as n from {view}") == [{"n": 0}]


def test_repeated_writes_count_once(put, rows) -> None:
    for _ in range(3):  # a crash and two recoveries re-deliver the same batches
        put("frames", [frame(i) for i in range(1, 6)])
        put("events", [event(i) for i in range(1, 6)])
        put("sessions", [session("1"), session("2")])
        put("alerts", [alert("a1"), alert("a2")])
        put("charger_health", [health(0), health(1)])
    counts = rows("select (select count(*) from frames) f, (select count(*) from events) e,"
                  " (select count(*) from sessions) s, (select count(*) from alerts) a,"
                  " (select count(*) from charger_health) h,"
                  " (select sum(energy_kwh) from finance_sessions) kwh")
    assert counts == [{"f": 5, "e": 5, "s": 2, "a": 2, "h": 2, "kwh": 14.0}]


def test_latest_session_version_wins_whatever_the_write_order(put, rows) -> None:
    put("sessions", [session("1", version=3, energy_wh=9000.0)])
    put("sessions", [session("1", version=1, status="active", stopped_at=None, energy_wh=None)])
    put("sessions", [session("1", version=2, energy_wh=8000.0)])
    latest = rows("select version, energy_kwh, duration_s, status from sessions")
    assert latest == [{"version": 3, "energy_kwh": 9.0, "duration_s": 1800.0,
                       "status": "completed"}]
    assert rows("select count(*) n from session_versions") == [{"n": 3}]


def test_health_minute_rewritten_keeps_latest_update(put, rows) -> None:
    put("charger_health", [health(0, power_w=1000.0, updated_at=T0 + MIN)])
    put("charger_health", [health(0, power_w=5000.0, updated_at=T0 + 2 * MIN)])
    put("charger_health", [health(0, power_w=1000.0, updated_at=T0 + MIN)])
    assert rows("select power_kw from fleet_health") == [{"power_kw": 5.0}]


def test_rows_land_in_the_day_partition_of_their_time(writer: WarehouseWriter,
                                                      data_dir: Path) -> None:
    day = 86_400 * 1_000_000_000
    files = writer.write("frames", to_batch(type(frame(1)), [frame(1), frame(2, received_at=T0 + day)]))
    assert sorted(p.parent.name for p in files) == ["date=2026-01-01", "date=2026-01-02"]
    assert all(p.suffix == ".parquet" and p.name.startswith("part-") for p in files)
    assert not list((data_dir / "warehouse").rglob("*.tmp"))


def test_wrong_schema_names_the_table_and_column(writer: WarehouseWriter) -> None:
    batch = to_batch(SessionRecord, [session()])
    with pytest.raises(ConfigError, match=r"'alerts'.*alert_id"):
        writer.write("alerts", batch)
    with pytest.raises(RegistryError, match="valid: alerts, charger_health, charger_last, commands, events"):
        writer.write("sesions", batch)


def test_catalog_holds_only_views_and_ensure_is_idempotent(data_dir: Path) -> None:
    path = catalog.ensure(data_dir)
    before = path.stat().st_ino
    assert catalog.ensure(data_dir).stat().st_ino == before
    con = catalog.connect(data_dir)
    kinds = {r[0] for r in con.execute(
        "select table_type from information_schema.tables").fetchall()}
    assert kinds == {"VIEW"}
    assert schema_of(SessionRecord).names == con.sql(
        "select * from session_versions").columns


def test_finance_holds_sessions_with_open_anomalies(put, rows) -> None:
    put("sessions", [session("1"), session("2", flags=["meter_mismatch"]),
                     session("3", status="active", stopped_at=None),
                     session("4", flags=["conflicting_stop", "duplicate_stop"]),
                     session("5", status="orphan_stop", flags=["orphan_stop"]),
                     session("6", flags=["phantom", "recovered_from_stuck", "stuck"]),
                     session("7", status="abandoned", stopped_at=None, meter_stop_wh=None,
                             energy_rule="samples", flags=["superseded"]),
                     session("8", flags=["stop_resent", "duplicate_stop", "per_transaction_meter"]),
                     session("9", status="void", flags=["phantom_of"])])
    put("alerts", [alert("a4", kind="duplicate_stop", session_id="CP1/4"),
                   alert("a8", kind="duplicate_stop", session_id="CP1/8"),
                   alert("a5", kind="clock_drift", session_id="CP1/1"),
                   alert("a6", kind="stuck_session", session_id="CP1/6"),
                   alert("a7", kind="phantom_transaction", session_id="CP1/6")])
    got = rows("select session_id, billable, hold_reason, period, energy_kwh, id_tag"
               " from finance_sessions order by session_id")
    assert got == [
        {"session_id": "CP1/1", "billable": True, "hold_reason": None, "period": "2026-01",
         "energy_kwh": 7.0, "id_tag": "TAG1"},
        {"session_id": "CP1/2", "billable": False, "hold_reason": "meter_mismatch",
         "period": "2026-01", "energy_kwh": 7.0, "id_tag": "TAG1"},
        {"session_id": "CP1/4", "billable": False, "hold_reason": "conflicting_stop",
         "period": "2026-01", "energy_kwh": 7.0, "id_tag": "TAG1"},
        {"session_id": "CP1/5", "billable": False, "hold_reason": "orphan_stop",
         "period": "2026-01", "energy_kwh": 7.0, "id_tag": "TAG1"},
        {"session_id": "CP1/6", "billable": True, "hold_reason": None,  # came back, billed once
         "period": "2026-01", "energy_kwh": 7.0, "id_tag": "TAG1"},
        {"session_id": "CP1/7", "billable": False, "hold_reason": "abandoned",  # never stopped
         "period": "2026-01", "energy_kwh": 7.0, "id_tag": "TAG1"},
        {"session_id": "CP1/8", "billable": True, "hold_reason": None,  # benign resend,
         "period": "2026-01", "energy_kwh": 7.0, "id_tag": "TAG1"},  # per-transaction meter
    ]  # CP1/9 is void (one physical start under a second id): never billed


def test_timeline_orders_frames_answers_and_events(put, rows) -> None:
    put("frames", [
        frame(1, action="StartTransaction", message_id="s"),
        frame(2, direction="out", message_type=3, action="StartTransaction", message_id="s",
              raw='[3,"s",{"transactionId":7}]'),
        frame(3, action="MeterValues"),
        frame(4, action="Heartbeat", message_id="hb"),  # not this session's
        frame(5, action="StopTransaction", message_id="e"),
    ])
    put("events", [event(5, event_type="transaction_stopped", transaction_key="7"),
                   event(3, 0, transaction_key="7", measurand="Energy.Active.Import.Register",
                         value=1500.0, unit="Wh"),
                   event(3, 1, transaction_key="7", measurand="Power.Active.Import")])
    put("sessions", [session("7", start_frame_id=1, stop_frame_id=5)])
    got = rows('select source, frame_id, event_id, direction, position from session_timeline'
               " where session_id = 'CP1/7' order by position")
    assert [(r["source"], r["frame_id"], r["event_id"], r["direction"]) for r in got] == [
        ("frame", 1, None, "in"), ("frame", 2, None, "out"), ("frame", 3, None, "in"),
        ("event", 3, "3:0", "in"), ("event", 3, "3:1", "in"), ("frame", 5, None, "in"),
        ("event", 5, "5:0", "in")]
    assert [r["position"] for r in got] == list(range(1, 8))
    summary = rows("select summary from session_timeline where event_id = '3:0'")
    assert summary == [{"summary": "meter_sample Energy.Active.Import.Register 1500.0 Wh"}]


def test_fleet_and_charger_status(put, rows) -> None:
    put("charger_health", [health(0), health(0, charge_point_id="CP2", online=False,
                                                power_w=None, sessions_active=0,
                                                firmware_version="2.0")])
    put("alerts", [alert("a1", detected_at=T0 - 30 * MIN), alert("a2", severity="info")])
    fleet = rows("select chargers_online, online_pct, sessions_in_progress, power_kw,"
                 " alerts_open from fleet_health")
    assert fleet == [{"chargers_online": 1, "online_pct": 50.0, "sessions_in_progress": 1,
                      "power_kw": 7.0, "alerts_open": 1}]
    status = rows("select charge_point_id, online, firmware_version from charger_status"
                  " order by 1")
    assert status == [{"charge_point_id": "CP1", "online": True, "firmware_version": "1.2.3"},
                      {"charge_point_id": "CP2", "online": False, "firmware_version": "2.0"}]
    firmware = rows("select firmware_version, chargers from firmware order by 1")
    assert firmware == [{"firmware_version": "1.2.3", "chargers": 1},
                        {"firmware_version": "2.0", "chargers": 1}]


def test_charger_status_takes_the_latest_write_of_the_latest_minute(put, rows) -> None:
    put("charger_health", [health(5, power_w=9000.0, updated_at=T0 + 7 * MIN),
                           health(4, power_w=1000.0, response_time_ms=300.0)])
    put("charger_health", [health(5, power_w=2000.0, response_time_ms=None,
                                  updated_at=T0 + 6 * MIN)])
    status = rows("select last_minute, power_w, response_time_ms from charger_status")
    assert [(r["power_w"], r["response_time_ms"]) for r in status] == [(9000.0, 120.0)]



def test_a_withdrawn_alert_is_not_listed_until_raised_again(put, rows) -> None:
    """Later evidence (a sample delivered late) can show a finding wrong: the flow writes a
    row withdrawing it; the view shows each id's latest state, first detection kept."""
    later = T0 + 40 * MIN
    put("alerts", [alert("w1"), alert("w1", withdrawn_at=later),  # found, then withdrawn
                   alert("w2"), alert("w2", withdrawn_at=later),
                   alert("w2", detected_at=later + MIN),  # raised again after that
                   alert("w3"), alert("w3")])  # written twice (at-least-once)
    got = rows("select alert_id, detected_at from alerts order by 1")
    assert [r["alert_id"] for r in got] == ["w2", "w3"]
