"""Every query the dashboards run: read-only, cached for 2 s, against the warehouse catalog.
Pages call these and only lay out the results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from warehouse.catalog import connect, query


def data_dir() -> Path:
    return Path(os.environ.get("CHARGELINE_DATA_DIR", "data"))


@st.cache_resource
def _connection(path: str) -> Any:
    return connect(Path(path))


@st.cache_data(ttl=2, show_spinner=False)
def load(sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    """One read query; an empty frame (never a traceback) while the warehouse has no data."""
    path = data_dir()
    try:
        con = _connection(str(path)).cursor()
        return query(con, path, sql, list(params) or None).to_pandas()
    except Exception:
        return pd.DataFrame()


def fleet_now() -> pd.DataFrame:
    return load("select * from fleet_health order by minute desc limit 1")


def fleet_trend() -> pd.DataFrame:
    return load("select minute, online_pct, power_kw, sessions_in_progress from fleet_health "
                "order by minute desc limit 240")


def chargers() -> pd.DataFrame:
    return load("select * from charger_status order by 1")


def charger_health(cp: str) -> pd.DataFrame:
    return load("select * from charger_health where charge_point_id = ? order by minute desc "
                "limit 1440", (cp,))


def sessions(cp: str | None = None, status: str | None = None) -> pd.DataFrame:
    sql = ("select session_id, charge_point_id, connector_id, status, started_at, stopped_at, "
           "energy_wh, energy_rule, id_tag, flags from sessions where true")
    params: list[Any] = []
    if cp:
        sql += " and charge_point_id = ?"
        params.append(cp)
    if status:
        sql += " and status = ?"
        params.append(status)
    return load(sql + " order by started_at desc nulls last limit 2000", tuple(params))


def session(session_id: str) -> pd.DataFrame:
    return load("select * from sessions where session_id = ?", (session_id,))


def session_samples(session_id: str) -> pd.DataFrame:
    return load("select e.server_received_at as at, e.measurand, e.value from events e "
                "join sessions s on e.charge_point_id = s.charge_point_id "
                "and e.transaction_key = s.transaction_id where s.session_id = ? "
                "and e.event_type = 'meter_sample' and e.phase is null order by 1",
                (session_id,))


def timeline(session_id: str) -> pd.DataFrame:
    return load("select * from session_timeline where session_id = ?", (session_id,))


def alerts(kind: str | None = None, cp: str | None = None,
           session_id: str | None = None) -> pd.DataFrame:
    sql, params = "select * from alerts where true", []
    for column, value in (("kind", kind), ("charge_point_id", cp), ("session_id", session_id)):
        if value:
            sql += f" and {column} = ?"
            params.append(value)
    return load(sql + " order by detected_at desc limit 2000", tuple(params))


def finance() -> pd.DataFrame:
    return load("select * from finance_sessions")


def firmware() -> pd.DataFrame:
    return load("select * from firmware")
