"""The uptime views on a hand-built port whose answer is worked out in ``fleet.py``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from canonical.errors import ConfigError
from canonical.uptime import UptimeExclusion
from tests.uptime.fleet import AS_OF
from tests.warehouse.conftest import MIN, SEC, T0
from warehouse import exclusions

Rows = Callable[..., list[dict[str, Any]]]
WINDOW_S = (AS_OF - T0 - SEC) / SEC  # the port is first seen 1 s after T0


def exclusion(start_min: int, end_min: int, category: str = "maintenance",
              connector_id: int | None = 1) -> UptimeExclusion:
    return UptimeExclusion(
        exclusion_id=exclusions.new_id(), charge_point_id="CP1", connector_id=connector_id,
        excluded_from=T0 + start_min * MIN, excluded_until=T0 + end_min * MIN,
        category=category, note="inverter swap", recorded_by="ops", recorded_at=T0)


def cp1(rows: Rows, view: str) -> list[dict[str, Any]]:
    return rows(f"select * from {view} where charge_point_id = 'CP1' order by 3")


def test_each_cause_counts_once_by_precedence(rows: Rows) -> None:
    days = cp1(rows, "port_uptime_daily")
    assert [str(d["day"]) for d in days] == ["2026-01-01", "2026-01-02"]
    first, second = days
    assert (first["offline_s"], first["unavailable_s"], first["faulted_s"],
            first["failed_starts_s"]) == (600, 300, 900, 900)  # 35-40: offline, not both
    assert first["outage_s"] == 2700 and first["excluded_s"] == 0
    assert first["observed_s"] + second["observed_s"] == pytest.approx(WINDOW_S)
    assert second["observed_s"] == 60 and second["outage_s"] == 0
    assert (first["sessions_delivered"], first["sessions_no_energy"],
            first["starts_refused"]) == (1, 2, 1)


def test_self_reported_uptime_beside_the_evidence(rows: Rows) -> None:
    [month] = cp1(rows, "port_uptime_monthly")
    assert month["self_reported_down_s"] == 600 + 900  # Unavailable 35-45, Faulted 60-75
    assert month["self_reported_uptime_pct"] == round(100 * (WINDOW_S - 1500) / WINDOW_S, 3)
    assert month["uptime_pct"] == round(100 * (WINDOW_S - 2700) / WINDOW_S, 3)
    assert month["trailing_12m_uptime_pct"] == month["uptime_pct"] and not month["meets_97"]


def test_evidence_names_what_it_saw(rows: Rows) -> None:
    evidence = {r["cause"]: r["evidence"] for r in cp1(rows, "int_uptime_evidence")}
    assert evidence == {
        "offline": "disconnected",
        "unavailable": "Unavailable after an operator ChangeAvailability",
        "faulted": "Faulted (GroundFailure)",
        "failed_starts": "1 refused, 2 without energy in a row"}


def test_a_connected_charger_silent_past_its_pace_is_offline(rows: Rows) -> None:
    [down] = rows("select * from int_uptime_evidence where charge_point_id = 'CP2'")
    assert down["evidence"] == "silent"
    assert (down["down_from"].timestamp(), down["down_until"].timestamp()) == (
        (T0 + 16 * MIN) / 1e9, (T0 + 31 * MIN) / 1e9)


def test_an_exclusion_takes_off_only_the_outage_it_covers(fleet_dir: Path, rows: Rows) -> None:
    exclusions.add(fleet_dir, exclusion(55, 70))  # 55-60 was up: nothing to take off there
    first = cp1(rows, "port_uptime_daily")[0]
    assert first["excluded_s"] == 600 and first["counted_outage_s"] == 2100
    segments = rows("select excluded_category, sum(duration_s) as s from int_port_downtime "
                    "where charge_point_id = 'CP1' and cause = 'faulted' group by all "
                    "order by 1 nulls last")
    assert segments == [{"excluded_category": "maintenance", "s": 600},
                        {"excluded_category": None, "s": 300}]


def test_a_single_failed_start_is_not_downtime(fleet_dir_factory: Callable[..., Path]) -> None:
    from tests.uptime.fleet import records
    from warehouse import catalog

    tables = records()
    tables["sessions"] = [s for s in tables["sessions"] if s.transaction_id != "2"]
    tables["commands"] = tables["commands"][:1]
    data_dir = fleet_dir_factory(tables)
    catalog.ensure(data_dir)
    with catalog.connect(data_dir) as con:
        got = con.sql("select failed_starts_s, sessions_no_energy from port_uptime_daily "
                      "where charge_point_id = 'CP1' order by day").fetchall()
    assert got == [(0, 1), (0, 0)]


def test_a_bad_exclusion_is_refused_and_nothing_written(fleet_dir: Path) -> None:
    with pytest.raises(ConfigError, match="unknown exclusion category 'weather'"):
        exclusions.add(fleet_dir, exclusion(1, 2, category="weather"))
    with pytest.raises(ConfigError, match="at or before it starts"):
        exclusions.add(fleet_dir, exclusion(5, 5))
    assert exclusions.listed(fleet_dir) == []
