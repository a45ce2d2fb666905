"""What a session costs, as finance reads it in ``finance_sessions``: the tariff version in
force at the start, components rounded half-even to the cent, VAT on their sum; a session that
cannot be priced says why and costs null, never 0; a held one is provisional. ``cost_of``
(a running session's cost so far) gives the same amounts from the same SQL."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from canonical.errors import ConfigError
from canonical.tariffs import CostMissing
from tests.finance.conftest import cents, session, site_fields, tariff_fields
from tests.warehouse.conftest import MIN, SEC, T0
from warehouse.cost import cost_of

START = datetime(2026, 1, 1, 10, tzinfo=UTC)  # T0


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["session_id"]: r for r in rows}


def test_energy_cost_ties_out_to_the_cent_over_many_odd_energies(priced_factory) -> None:
    rng = random.Random(21)
    energies = [0.5, 1.5, 2.5, 12345.5, 83.0, 401.98, 0.0, 999999.999]
    energies += [round(rng.uniform(0, 80000), rng.choice([0, 1, 2, 3])) for _ in range(392)]
    sessions = [session(str(i), energy_wh=e, max_power_w=None) for i, e in enumerate(energies)]
    rows = priced_factory(sessions, [tariff_fields(energy_per_kwh="0.3917", session_fee="0.35")])(
        "select * from finance_sessions")
    assert len(rows) == 400
    for r in rows:
        wh = Decimal(repr(r["energy_wh"])).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        assert r["billed_energy_wh"] == int(wh), r
        assert r["energy_cost"] == cents(wh / 1000 * Decimal("0.3917")), r
        assert r["cost_excl_vat"] == r["energy_cost"] + Decimal("0.35")
        assert r["vat"] == cents(r["cost_excl_vat"] * Decimal("0.21"))
        assert r["cost_incl_vat"] == r["cost_excl_vat"] + r["vat"]
        assert (r["tariff_id"], r["tariff_version"], r["currency"]) == ("T", 1, "EUR")
    assert {r["billed_energy_wh"] for r in rows if r["energy_wh"] in (0.5, 1.5, 2.5)} == {0, 2}


def test_finance_total_is_the_sum_of_the_session_rows(priced_factory) -> None:
    sessions = [session(str(i), energy_wh=1000.0 + i * 7.3) for i in range(50)]
    rows = priced_factory(sessions, [tariff_fields(energy_per_kwh="0.4421", vat_pct="19")])
    (total,) = rows("select sum(cost_incl_vat) as t, sum(energy_kwh) as kwh "
                    "from finance_sessions")
    each = rows("select cost_incl_vat, billed_energy_wh from finance_sessions")
    assert total["t"] == sum(r["cost_incl_vat"] for r in each)
    assert total["t"] > 0


def test_the_version_in_force_at_the_start_prices_the_session(priced_factory) -> None:
    sessions = [session("before", started_at=T0 + 14 * MIN + 59 * SEC),
                session("at", started_at=T0 + 15 * MIN),
                session("ended", started_at=T0 + 40 * MIN, stopped_at=T0 + 50 * MIN)]
    rows = by_id(priced_factory(sessions, [
        tariff_fields(energy_per_kwh="0.30"),
        tariff_fields(energy_per_kwh="0.50", valid_from="2026-01-01T10:15:00Z",
                      valid_to="2026-01-01T10:30:00+00:00"),
    ])("select * from finance_sessions"))
    assert (rows["CP1/before"]["tariff_version"], rows["CP1/before"]["energy_cost"]) == \
        (1, Decimal("2.10"))
    assert (rows["CP1/at"]["tariff_version"], rows["CP1/at"]["energy_cost"]) == \
        (2, Decimal("3.50"))
    # version 2 superseded version 1 from 10:15 on and ended at 10:30: nothing in force
    assert rows["CP1/ended"]["cost_missing_reason"] == "no_tariff"
    assert rows["CP1/ended"]["cost_incl_vat"] is None


def test_time_of_day_bands_split_the_energy_in_the_sites_local_time(priced_factory) -> None:
    # Brussels is UTC+1 in January: the band 12:00-14:00 local is 11:00-13:00 UTC. 10 kWh at
    # a 10 kW peak charge 10:30-11:30 UTC, half in the band; then idle until 12:30.
    rows = priced_factory(
        [session("1", started_at=T0 + 30 * MIN, stopped_at=T0 + 150 * MIN, energy_wh=10000.0,
                 max_power_w=10000.0)],
        [tariff_fields("S", scope="site", scope_id="S1", energy_per_kwh="0.20",
                       energy_bands="12:00-14:00=0.50", time_per_hour="1.20",
                       idle_per_hour="6", idle_grace_min="30")],
        [site_fields(charge_point_ids="CP1")])
    (row,) = rows("select * from finance_sessions")
    segments = rows("select segment_from, segment_energy_wh, price_per_kwh from "
                    "session_energy_segments order by segment_from")
    assert [(s["segment_energy_wh"], s["price_per_kwh"]) for s in segments] == \
        [(5000, Decimal("0.2")), (5000, Decimal("0.5"))]
    assert segments[1]["segment_from"] == START + timedelta(hours=1)
    assert (row["site_id"], row["charging_s"], row["idle_s"]) == ("S1", 3600, 3600)
    assert (row["energy_cost"], row["time_cost"], row["idle_cost"]) == \
        (Decimal("3.50"), Decimal("1.20"), Decimal("3.00"))
    assert (row["cost_excl_vat"], row["vat"], row["cost_incl_vat"]) == \
        (Decimal("7.70"), Decimal("1.62"), Decimal("9.32"))


def test_a_charger_tariff_beats_its_sites_which_beats_the_default(priced_factory) -> None:
    sessions = [session("1", charge_point_id=cp) for cp in ("CP1", "CP2", "CP3")]
    rows = priced_factory(sessions, [
        tariff_fields("D", energy_per_kwh="0.10"),
        tariff_fields("SITE", scope="site", scope_id="S1", energy_per_kwh="0.20"),
        tariff_fields("ONE", scope="charger", scope_id="CP1", energy_per_kwh="0.30")],
        [site_fields(charge_point_ids="CP1;CP2")])("select * from finance_sessions")
    assert {r["charge_point_id"]: (r["site_id"], r["tariff_id"], r["energy_cost"])
            for r in rows} == {"CP1": ("S1", "ONE", Decimal("2.10")),
                               "CP2": ("S1", "SITE", Decimal("1.40")),
                               "CP3": ("default", "D", Decimal("0.70"))}


def test_what_cannot_be_priced_says_why_and_held_costs_are_provisional(priced_factory) -> None:
    sessions = [session("none", energy_wh=None), session("neg", energy_wh=-5.0),
                session("orphan", status="orphan_stop", started_at=None),
                session("held", flags=["meter_reset"]),
                session("free", charge_point_id="CPX")]
    rows = by_id(priced_factory(sessions, [
        tariff_fields("ONE", scope="charger", scope_id="CP1")])("select * from finance_sessions"))
    assert {k: r["cost_missing_reason"] for k, r in rows.items()} == {
        "CP1/none": "no_energy", "CP1/neg": "negative_energy", "CP1/orphan": "no_start_time",
        "CP1/held": None, "CPX/free": "no_tariff"}
    for r in rows.values():
        assert (r["cost_incl_vat"] is None) == (r["cost_missing_reason"] is not None)
        assert r["cost_provisional"] == (not r["billable"])
    assert rows["CP1/held"]["cost_provisional"] is True
    assert rows["CP1/held"]["cost_incl_vat"] == Decimal("3.30")


def test_cost_of_a_running_session_is_the_views_amount(priced_factory) -> None:
    rows = priced_factory(
        [session("1", started_at=T0 + 30 * MIN, stopped_at=T0 + 150 * MIN, energy_wh=10000.0,
                 max_power_w=10000.0, charge_point_id="CP1")],
        [tariff_fields("S", scope="site", scope_id="S1", energy_per_kwh="0.20",
                       energy_bands="12:00-14:00=0.50", idle_per_hour="6", idle_grace_min="30")],
        [site_fields(charge_point_ids="CP1")])
    (row,) = rows("select * from finance_sessions")
    start = START + timedelta(minutes=30)
    cost = cost_of(rows.data_dir, "CP1", started_at=start, until=start + timedelta(hours=2),
                   energy_wh=10000.0, max_power_w=10000.0)
    assert (cost.cost_excl_vat, cost.vat, cost.cost_incl_vat, cost.tariff_id) == \
        (row["cost_excl_vat"], row["vat"], row["cost_incl_vat"], "S")
    so_far = cost_of(rows.data_dir, "CP1", started_at=start,
                     until=start + timedelta(minutes=20), energy_wh=2000.0, max_power_w=10000.0)
    assert (so_far.energy_cost, so_far.idle_cost, so_far.missing) == \
        (Decimal("0.40"), Decimal("0.00"), None)
    nowhere = cost_of(rows.data_dir, "CP9", started_at=start - timedelta(days=3650),
                      until=start, energy_wh=1.0)
    assert (nowhere.missing, nowhere.cost_incl_vat) == (CostMissing.no_tariff, None)
    with pytest.raises(ConfigError, match="time-zone-aware"):
        cost_of(rows.data_dir, "CP1", started_at=datetime(2026, 1, 1), until=start,
                energy_wh=1.0)
