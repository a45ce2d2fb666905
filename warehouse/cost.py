"""``cost_of``: what a session costs so far, by the same SQL that prices ``finance_sessions``.

For a caller that has a session in hand rather than in the warehouse, e.g. a driver API
showing a running session's cost: the session's charger, start, the time so far, energy so
far and peak power go in as the one row of ``cost_inputs``, and the views ``session_tariffs``,
``session_energy_segments`` and ``session_costs`` — the very files the catalog builds — price
it against the data dir's tariffs and sites, in an in-memory DuckDB (a few ms; nothing is
written). The same inputs give the same amounts as the warehouse gives a stopped session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from canonical.errors import ConfigError
from canonical.tariffs import CostMissing, SessionCost
from warehouse import reference
from warehouse.catalog import SQL_DIR, create_statement

COST_VIEWS = ("staging/half_even_div", "staging/tariff_versions", "staging/tariff_day_prices",
              "staging/sites", "staging/site_chargers", "intermediate/session_tariffs",
              "intermediate/session_energy_segments", "intermediate/session_costs")
_INPUTS = """create table cost_inputs (session_id varchar, charge_point_id varchar,
    started_at timestamptz, ended_at timestamptz, energy_wh double, max_power_w double)"""


def cost_of(data_dir: Path, charge_point_id: str, *, started_at: datetime, until: datetime,
            energy_wh: float | None, max_power_w: float | None = None) -> SessionCost:
    """The cost of a session of ``charge_point_id`` started at ``started_at`` (aware, any
    zone), plugged until ``until`` (its stop, or now for a running session), with
    ``energy_wh`` so far and peak power ``max_power_w`` (None: unknown, no idle time)."""
    return costs_of(data_dir, [CostInput("s", charge_point_id, started_at, until, energy_wh,
                                         max_power_w)])["s"]


@dataclass(frozen=True, slots=True)
class CostInput:
    """One session to price: ``cost_of``'s arguments under a key of the caller's."""

    key: str
    charge_point_id: str
    started_at: datetime
    until: datetime
    energy_wh: float | None
    max_power_w: float | None = None


def costs_of(data_dir: Path, inputs: list[CostInput]) -> dict[str, SessionCost]:
    """``cost_of`` for many sessions in one pricing run (one in-memory DuckDB whatever their
    number): by key."""
    if any(i.started_at.tzinfo is None or i.until.tzinfo is None for i in inputs):
        raise ConfigError("cost_of needs time-zone-aware datetimes")
    if not inputs:
        return {}
    con = _pricing_connection(data_dir)
    try:
        con.executemany("insert into cost_inputs values (?, ?, ?, ?, ?, ?)",
                        [[i.key, i.charge_point_id, i.started_at, i.until, i.energy_wh,
                          i.max_power_w] for i in inputs])
        rows = con.execute(f"select session_id, {', '.join(_COLUMNS)} "
                           "from session_costs").fetchall()
    finally:
        con.close()
    out = {}
    for key, *row in rows:
        values = dict(zip(_COLUMNS, row, strict=True))
        reason = values.pop("cost_missing_reason")
        out[key] = SessionCost(**values, missing=None if reason is None else CostMissing(reason))
    if len(out) != len({i.key for i in inputs}):
        raise RuntimeError("session_costs gave no row for some of its inputs")
    return out


_COLUMNS = ("site_id", "tariff_id", "tariff_version", "currency", "billed_energy_wh",
            "plugged_s", "charging_s", "idle_s", "billed_idle_s", "energy_cost", "time_cost",
            "idle_cost", "session_fee", "cost_excl_vat", "vat", "cost_incl_vat",
            "cost_missing_reason")


def _pricing_connection(data_dir: Path) -> duckdb.DuckDBPyConnection:
    reference.ensure_files(data_dir)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for name in reference.SCHEMAS:
        con.execute(f"create view raw_{name} as {reference.source_sql(data_dir, name)}")
    con.execute(_INPUTS)
    for view in COST_VIEWS:
        name = view.split("/")[1]
        con.execute(create_statement(name, (SQL_DIR / f"{view}.sql").read_text()))
    return con


def tariffs_in_force(data_dir: Path, charge_point_ids: list[str],
                     at: datetime) -> dict[str, tuple[str, int]]:
    """Per charger, (tariff id, version) a session starting at ``at`` would be priced by
    (``session_tariffs``' rule); chargers with none are left out."""
    con = _pricing_connection(data_dir)
    try:
        con.executemany("insert into cost_inputs values (?, ?, ?, ?, 0, null)",
                        [[cp, cp, at, at] for cp in charge_point_ids])
        rows = con.execute("select charge_point_id, tariff_id, tariff_version "
                           "from session_tariffs where tariff_id is not null").fetchall()
    finally:
        con.close()
    return {cp: (tariff_id, version) for cp, tariff_id, version in rows}
