"""The dashboards' small fleet (tests/dashboards/conftest.py) with the live session ``CP3/7``
given meter samples: a register every minute and, on all but the last, a power sample; and one
power sample received after the session row's last event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dashboards.conftest import fleet_records, write
from tests.warehouse.conftest import MIN, SEC, T0, event


def live_samples() -> list[Any]:
    out = []
    for k in range(5):  # minutes 50..54 of the hour, 1.8 kWh a minute (108 kW)
        at = T0 + (50 + k) * MIN
        frame_id = 900 + k
        common = dict(charge_point_id="CP3", transaction_key="7", server_received_at=at)
        out.append(event(frame_id, 0, measurand="Energy.Active.Import.Register",
                         value=50_000.0 + k * 1800.0, unit="Wh", **common))
        if k < 4:  # the last sample carries no power: power is the register's rise
            out.append(event(frame_id, 1, measurand="Power.Active.Import", value=108_000.0,
                             unit="W", **common))
    # received after the session row was written: the row does not know it, so the live state
    # must not show it beside the row's energy (a power and an energy of two moments)
    out.append(event(960, 1, measurand="Power.Active.Import", value=1000.0, unit="W",
                     charge_point_id="CP3", transaction_key="7",
                     server_received_at=T0 + 56 * MIN))
    out.append(event(950, event_type="status_changed", charge_point_id="CP3", connector_id=1,
                     status="Charging", server_received_at=T0 + 50 * MIN + SEC))
    return out


@pytest.fixture(scope="session")
def live_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = fleet_records()
    records["events"] = [*records["events"], *live_samples()]
    for i, s in enumerate(records["sessions"]):
        if s.session_id == "CP3/7":
            from dataclasses import replace
            records["sessions"][i] = replace(s, energy_wh=7200.0, meter_start_wh=50_000.0,
                                          last_event_at=T0 + 54 * MIN)
    data_dir = tmp_path_factory.mktemp("live")
    write(data_dir, records)
    return data_dir
