"""The live read model (warehouse.live) on a real warehouse: what the driver API and the
dashboard's session page both show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from canonical.enums import SessionStatus
from canonical.live import Availability, availability_of
from tests.warehouse.conftest import T0
from warehouse.catalog import connect
from warehouse.live import charger_availability, live_session

AT = datetime.fromtimestamp(T0 / 1e9, UTC)


def test_a_running_session_now_and_a_finished_one(live_warehouse: Path) -> None:
    con = connect(live_warehouse)
    now = AT + timedelta(minutes=55)
    running = live_session(con, live_warehouse, "CP3/7", now=now)
    assert running is not None and running.status == SessionStatus.active
    assert running.energy_kwh == 7.2
    # no power sample with the newest register sample: 1.8 kWh in a minute is 108 kW
    assert running.power_kw == 108.0
    assert running.duration_s == 5 * 60 and running.as_of == now
    assert running.sampled_at == AT + timedelta(minutes=54)
    done = live_session(con, live_warehouse, "CP1/1", now=now)
    assert done is not None and done.status == SessionStatus.completed
    assert (done.energy_kwh, done.power_kw, done.duration_s) == (7.0, None, 30 * 60)
    assert live_session(con, live_warehouse, "nope/1", now=now) is None
    assert live_session(con, live_warehouse, "'; drop table sessions; --", now=now) is None


def test_power_is_the_latest_power_sample_when_it_is_the_newest(live_warehouse: Path) -> None:
    from warehouse.live import _power_kw

    at = AT + 50 * timedelta(minutes=1)
    samples = [{"at": at, "measurand": "Power.Active.Import", "value": 7400.0},
               {"at": at, "measurand": "Energy.Active.Import.Register", "value": 1000.0}]
    assert _power_kw(samples) == 7.4
    assert _power_kw(samples[1:]) is None  # one register sample: no rise to go by


def test_connector_availability(live_warehouse: Path) -> None:
    con = connect(live_warehouse)
    cp1 = charger_availability(con, live_warehouse, "CP1")
    assert cp1 is not None and cp1.online
    assert [(c.connector_id, c.availability) for c in cp1.connectors] == [
        (1, Availability.occupied), (2, Availability.available)]
    cp2 = charger_availability(con, live_warehouse, "CP2")  # silent since minute 29
    assert cp2 is not None and not cp2.online
    assert charger_availability(con, live_warehouse, "CP9") is None
    assert availability_of("Charging", online=False) == Availability.offline
    assert availability_of("SomethingNew", online=True) == Availability.unknown
