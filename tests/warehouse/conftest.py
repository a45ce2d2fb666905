"""Factories for warehouse tests: canonical records with sensible defaults (x_factory + x)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from canonical import Alert, CanonicalEvent, ChargerHealth, RawFrame, SessionRecord, to_batch
from warehouse.writer import WarehouseWriter

T0 = 1_767_261_600_000_000_000  # 2026-01-01T10:00:00Z
MIN = 60_000_000_000
SEC = 1_000_000_000
DAY = 86_400 * SEC


def frame(frame_id: int, **kw: Any) -> RawFrame:
    base: dict[str, Any] = dict(
        frame_id=frame_id, received_at=T0 + frame_id * SEC, charge_point_id="CP1",
        connection_id="c1", protocol="ocpp1.6", direction="in", record_kind="frame",
        message_type=2, message_id=f"m{frame_id}", action="MeterValues",
        raw=f'[2,"m{frame_id}","MeterValues",{{}}]', parse_status="ok")
    return RawFrame(**{**base, **kw})


def event(frame_id: int, index: int = 0, **kw: Any) -> CanonicalEvent:
    base: dict[str, Any] = dict(
        event_id=f"{frame_id}:{index}", event_type="meter_sample", frame_id=frame_id,
        charge_point_id="CP1", protocol="ocpp1.6", adapter="ocpp16",
        server_received_at=T0 + frame_id * SEC)
    return CanonicalEvent(**{**base, **kw})


def session(transaction_id: str = "1", version: int = 1, **kw: Any) -> SessionRecord:
    cp = kw.get("charge_point_id", "CP1")
    base: dict[str, Any] = dict(
        session_id=f"{cp}/{transaction_id}", version=version, charge_point_id=cp,
        connector_id=1, evse_id=None, transaction_id=transaction_id, id_tag="TAG1",
        protocol="ocpp1.6", status="completed", started_at=T0, stopped_at=T0 + 30 * MIN,
        started_at_raw="2026-01-01T10:00:00Z", stopped_at_raw="2026-01-01T10:30:00Z",
        start_frame_id=1, stop_frame_id=9, meter_start_wh=1000.0, meter_stop_wh=8000.0,
        energy_wh=7000.0, energy_rule="register_delta", samples_energy_wh=6990.0,
        sample_count=6, max_power_w=14000.0, stop_reason="Local", flags=[],
        clock_offset_s=0.0, last_event_at=T0 + 30 * MIN, updated_at=T0 + 30 * MIN + version)
    return SessionRecord(**{**base, **kw})


def alert(alert_id: str = "a1", **kw: Any) -> Alert:
    base: dict[str, Any] = dict(
        alert_id=alert_id, kind="meter_mismatch", severity="warning", charge_point_id="CP1",
        session_id=None, connector_id=1, detected_at=T0 + 31 * MIN, event_time=T0 + 30 * MIN,
        value=120.0, unit="Wh", message="transaction energy differs from samples",
        frame_id=9, detail=None)
    return Alert(**{**base, **kw})


def health(minute_index: int, **kw: Any) -> ChargerHealth:
    base: dict[str, Any] = dict(
        charge_point_id="CP1", minute=T0 + minute_index * MIN, online=True, online_s=60.0,
        reconnects=0, heartbeats=1, heartbeat_interval_s=60.0, response_time_ms=120.0,
        frames_in=5, vendor="ABB", model="Terra", firmware_version="1.2.3", drift_s=0.5,
        sessions_active=1, power_w=7000.0, updated_at=T0 + (minute_index + 1) * MIN)
    return ChargerHealth(**{**base, **kw})


RECORD_TYPES = {"frames": RawFrame, "events": CanonicalEvent, "sessions": SessionRecord,
                "alerts": Alert, "charger_health": ChargerHealth}

Put = Callable[[str, list[Any]], None]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def writer_factory(data_dir: Path) -> Callable[..., WarehouseWriter]:
    def make(**kw: Any) -> WarehouseWriter:
        return WarehouseWriter(data_dir, durable=False, **kw)
    return make


@pytest.fixture
def writer(writer_factory: Callable[..., WarehouseWriter]) -> WarehouseWriter:
    return writer_factory()


@pytest.fixture
def put(writer: WarehouseWriter) -> Put:
    """Write records of one table as one batch: ``put("sessions", [session(...)])``."""
    def write(table: str, records: list[Any]) -> None:
        writer.write(table, to_batch(RECORD_TYPES[table], records))
    return write


@pytest.fixture
def catalog_factory(data_dir: Path) -> Callable[[], Any]:
    """A fresh read-only connection to the (re)built catalog."""
    from warehouse import catalog

    def make() -> Any:
        catalog.ensure(data_dir)
        return catalog.connect(data_dir)
    return make


@pytest.fixture
def rows(catalog_factory: Callable[[], Any]) -> Callable[..., list[dict[str, Any]]]:
    """``rows("select ...")``: the query's rows as dicts, on a fresh connection."""
    def run(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        con = catalog_factory()
        try:
            result = con.execute(sql, params) if params else con.sql(sql)
            return list(result.to_arrow_table().to_pylist())
        finally:
            con.close()
    return run
