"""The Uptime page's queries: port uptime per month and day (``port_uptime_monthly``,
``port_uptime_daily``), the evidence behind it and the operator's exclusions, read through
``data.load`` (cached, read-only, an empty frame rather than an exception). Minutes are the
regulation's unit (23 CFR 680.116(b)): the views' seconds / 60.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from dashboards.data import load

NEVI_MIN_PCT = 97.0  # 23 CFR 680.116(b): "greater than 97%"
#: The breakdown's columns (minutes), in the causes' precedence, then the excluded share.
CAUSE_MINUTES = {"offline_s": "offline", "faulted_s": "faulted",
                 "unavailable_s": "unavailable", "failed_starts_s": "failed starts",
                 "excluded_s": "excluded"}
PORT_COLUMNS = ["charge_point_id", "port_id", "uptime_pct", "self_reported_uptime_pct",
                "trailing_12m_uptime_pct", "observed_min", "counted_outage_min",
                "offline_min", "faulted_min", "unavailable_min", "failed_starts_min",
                "excluded_min", "sessions_delivered", "sessions_no_energy", "starts_refused"]

DAY_COLUMNS = ["day", "charge_point_id", "port_id", "uptime_pct", "self_reported_uptime_pct",
               "counted_outage_min", "offline_min", "faulted_min", "unavailable_min",
               "failed_starts_min", "excluded_min"]


def months() -> list[date]:
    """Months with uptime rows, latest first."""
    rows = load("select distinct month from port_uptime_monthly order by month desc")
    return [] if rows.empty else [pd.Timestamp(m).date() for m in rows["month"]]


def monthly(month: date) -> pd.DataFrame:
    """One row per port for ``month``: uptime by the evidence, self-reported, trailing 12
    months, and minutes per cause; worst first."""
    rows = load("select * from port_uptime_monthly where month = ? "
                "order by uptime_pct, charge_point_id, port_id", (month,))
    return _minutes(rows)[PORT_COLUMNS] if not rows.empty else rows


def daily(month: date) -> pd.DataFrame:
    """One row per port and day of ``month``."""
    rows = load("select * from port_uptime_daily where date_trunc('month', day) = ? "
                "order by day, charge_point_id, port_id", (month,))
    if rows.empty:
        return rows
    return _minutes(rows)[DAY_COLUMNS]


def fleet(ports: pd.DataFrame) -> dict[str, Any]:
    """The month's figures over all ports: minutes add, percentages are computed again."""
    observed = float(ports["observed_min"].sum())
    if not observed:
        return {"uptime_pct": None, "self_reported_uptime_pct": None, "under": 0}
    down = float(ports["counted_outage_min"].sum())
    said = float((ports["observed_min"] * (100 - ports["self_reported_uptime_pct"]) / 100).sum())
    return {"uptime_pct": round(100 * (observed - down) / observed, 2),
            "self_reported_uptime_pct": round(100 * (observed - said) / observed, 2),
            "under": int((ports["uptime_pct"] <= NEVI_MIN_PCT).sum())}


def breakdown(ports: pd.DataFrame) -> pd.DataFrame:
    """Minutes down per cause over all ports (``excluded``: excluded outage, already inside
    the causes' minutes)."""
    columns = {f"{c[:-2]}_min": label for c, label in CAUSE_MINUTES.items()}
    totals = [float(ports[c].sum()) for c in columns]
    return pd.DataFrame({"cause": list(columns.values()), "minutes": totals})


def evidence(month: date) -> pd.DataFrame:
    """Every piece of down evidence overlapping ``month`` (they may overlap each other)."""
    return load("select charge_point_id, port_id, cause, evidence, down_from, down_until, "
                "round((epoch(down_until) - epoch(down_from)) / 60, 1) as minutes "
                "from int_uptime_evidence where down_until > ? "
                "and down_from < ? + interval 1 month order by down_from",
                (month, month))


def exclusions() -> pd.DataFrame:
    """The operator's exclusions (``chargeline uptime exclude``), latest first."""
    return load("select distinct on (exclusion_id) exclusion_id, charge_point_id, "
                "connector_id, excluded_from, excluded_until, category, note, recorded_by "
                "from raw_uptime_exclusions order by exclusion_id")


def _minutes(rows: pd.DataFrame) -> pd.DataFrame:
    for column in CAUSE_MINUTES:
        rows[f"{column[:-2]}_min"] = rows[column] / 60
    return rows
