"""A small fleet's warehouse for the dashboards (x_factory + x), written with the real
``WarehouseWriter`` from canonical records built by the warehouse tests' factories.

The fleet, at 2026-01-01 10:00-10:59 UTC (T0 + minutes):

- CP1 (ABB Terra, 1.2.3) online, 7 kW; session ``CP1/1`` completed, 7.000 kWh, with its
  frames (StartTransaction, six MeterValues, StopTransaction, the CSMS replies) and events;
  session ``CP1/2`` completed, 12.345 kWh, flagged ``meter_mismatch`` (finance holds it).
- CP2 (Alfen Eve, 4.0.1) stops reporting at minute 29: offline; session ``CP2/3`` completed,
  4.200 kWh; session ``CP2/0`` completed the day before (2025-12-31), 1.500 kWh.
- CP3 (Keba P30, 1.2.3) online, 11 kW, drift 90 s, a boot loop: degraded; ``CP3/7`` active.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from canonical import to_batch
from tests.warehouse.conftest import (
    DAY,
    MIN,
    RECORD_TYPES,
    SEC,
    T0,
    alert,
    event,
    frame,
    health,
    session,
)
from warehouse.catalog import ensure
from warehouse.writer import WarehouseWriter

Records = dict[str, list[Any]]


def session_one_frames() -> list[Any]:
    """CP1/1 on the wire: start, six meter values, stop, each answered by the CSMS."""
    calls = ["StartTransaction", *["MeterValues"] * 6, "StopTransaction"]
    frames = []
    for i, action in enumerate(calls, start=1):
        frames.append(frame(i, action=action, message_id=f"m{i}",
                            raw=f'[2,"m{i}","{action}",{{"n":{i}}}]'))
        frames.append(frame(100 + i, received_at=T0 + i * SEC + SEC // 10, direction="out",
                            message_type=3, message_id=f"m{i}", action=action,
                            raw=f'[3,"m{i}",{{}}]'))
    connected = frame(0, received_at=T0 - SEC, record_kind="connected", message_type=None,
                      message_id=None, action=None, raw="", parse_status="n/a")
    return [connected, *frames]


def session_one_events() -> list[Any]:
    events = [event(1, event_type="transaction_started", connector_id=1, meter_wh=1000.0),
              event(8, event_type="transaction_stopped", transaction_key="1",
                    meter_wh=8000.0, reason="Local")]
    for k, frame_id in enumerate(range(2, 8), start=1):
        events += [
            event(frame_id, 0, transaction_key="1", measurand="Energy.Active.Import.Register",
                  value=1000.0 + k * 1000.0, unit="Wh", meter_wh=1000.0 + k * 1000.0),
            event(frame_id, 1, transaction_key="1", measurand="Power.Active.Import",
                  value=14000.0, unit="W")]
    return events


def fleet_health() -> list[Any]:
    cp1 = [health(m) for m in range(60)]
    cp2 = [health(m, charge_point_id="CP2", vendor="Alfen", model="Eve",
                  firmware_version="4.0.1", online=m < 20, online_s=60.0 if m < 20 else 0.0,
                  reconnects=1 if m == 10 else 0, power_w=0.0, sessions_active=0)
           for m in range(30)]
    cp3 = [health(m, charge_point_id="CP3", vendor="Keba", model="P30", drift_s=90.0,
                  power_w=11000.0, reconnects=1 if m % 10 == 0 else 0) for m in range(60)]
    return [*cp1, *cp2, *cp3]


def fleet_sessions() -> list[Any]:
    return [
        session("1"),
        session("2", started_at=T0 + 35 * MIN, stopped_at=T0 + 45 * MIN, id_tag="TAG2",
                energy_wh=12345.0, flags=["meter_mismatch"], start_frame_id=None,
                stop_frame_id=None),
        session("3", charge_point_id="CP2", started_at=T0 + 5 * MIN,
                stopped_at=T0 + 25 * MIN, energy_wh=4200.0, start_frame_id=None,
                stop_frame_id=None),
        session("0", charge_point_id="CP2", started_at=T0 - DAY, stopped_at=T0 - DAY + MIN,
                energy_wh=1500.0, start_frame_id=None, stop_frame_id=None),
        session("7", charge_point_id="CP3", status="active", started_at=T0 + 50 * MIN,
                stopped_at=None, stopped_at_raw=None, energy_wh=None, meter_stop_wh=None,
                start_frame_id=None, stop_frame_id=None, last_event_at=T0 + 58 * MIN),
    ]


def fleet_alerts() -> list[Any]:
    return [
        alert("a1", session_id="CP1/2", detected_at=T0 + 46 * MIN),
        alert("a2", kind="charger_offline", charge_point_id="CP2", detected_at=T0 + 35 * MIN,
              message="CP2 silent for 5 minutes", session_id=None),
        alert("a3", kind="boot_loop", severity="critical", charge_point_id="CP3",
              detected_at=T0 + 40 * MIN, message="4 boots in 10 minutes"),
    ]


def other_events() -> list[Any]:
    return [event(50, event_type="status_changed", connector_id=1, status="Charging"),
            event(51, event_type="status_changed", connector_id=2, status="Available"),
            event(60, event_type="firmware_status", charge_point_id="CP3",
                  status="Installed")]


def fleet_records() -> Records:
    return {"frames": session_one_frames(),
            "events": [*session_one_events(), *other_events()],
            "sessions": fleet_sessions(), "alerts": fleet_alerts(),
            "charger_health": fleet_health()}


def write(data_dir: Path, records: Records) -> None:
    """Write each table's records as one batch, then bring the catalog up to date."""
    writer = WarehouseWriter(data_dir, durable=False)
    for table, rows in records.items():
        if rows:
            writer.write(table, to_batch(RECORD_TYPES[table], rows))
    ensure(data_dir)


@pytest.fixture(scope="session")
def warehouse_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    def make(records: Records | None = None) -> Path:
        data_dir = tmp_path_factory.mktemp("data")
        write(data_dir, fleet_records() if records is None else records)
        return data_dir
    return make


@pytest.fixture(scope="session")
def warehouse(warehouse_factory: Callable[..., Path]) -> Path:
    """The fleet above; shared, so tests must not write to it."""
    return warehouse_factory()


@pytest.fixture
def empty_warehouse(tmp_path: Path) -> Path:
    """A data directory with a catalog and no Parquet file yet."""
    ensure(tmp_path)
    return tmp_path


CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (Playwright), launched once a module (~1.5 s a launch). Not
    once a session: while Playwright's sync API is up, its event loop runs in this thread and
    a later test's ``asyncio.run`` would refuse to start."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """A page in a browser context of its own (no cookie, storage or cache of another test's),
    30 s default timeout."""
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
    finally:
        context.close()
