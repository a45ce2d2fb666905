"""Every query the dashboards run: read-only, cached for 1.5 s, against the warehouse catalog.

Pages call these and only lay out the results. Each loader returns a pandas frame (possibly
empty, never an exception: an empty warehouse, or a file compaction removes mid-query, reads
as "no rows"). Times are UTC ``datetime64[ns, UTC]``; energy in Wh or kWh as the column says.
"""

from __future__ import annotations

import io
import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import streamlit as st

from warehouse.catalog import connect, query
from warehouse.export import csv_bytes, finance_rows

log = logging.getLogger(__name__)

TTL_S = 1.5  # just under widgets.REFRESH_S: each self-refresh reads fresh rows
FINANCE_DIMENSIONS = {"period": "period", "charger": "charge_point_id", "driver": "id_tag"}


def data_dir() -> Path:
    """The warehouse's data directory: ``CHARGELINE_DATA_DIR`` (set by ``chargeline
    dashboard``), else ``./data``."""
    return Path(os.environ.get("CHARGELINE_DATA_DIR", "data"))


@st.cache_resource(show_spinner=False)
def connection(path: str) -> duckdb.DuckDBPyConnection:
    return connect(Path(path))


def load(sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    """One read query on the warehouse of ``data_dir()``, cached for ``TTL_S`` seconds."""
    return _load(str(data_dir()), sql, params)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def _load(path: str, sql: str, params: tuple[Any, ...]) -> pd.DataFrame:
    # ``path`` is an argument so that the cache keys on it.
    try:
        con = connection(path).cursor()
        try:
            return query(con, Path(path), sql, list(params) or None).to_pandas()
        finally:
            con.close()
    except duckdb.Error as exc:
        log.warning("dashboard query failed, showing no rows: %s", exc)
        return pd.DataFrame()


def _where(filters: dict[str, Any], day: str | None = None, since: date | None = None,
           until: date | None = None) -> tuple[str, tuple[Any, ...]]:
    """``and <column> = ?`` for every filter given, and ``since``/``until`` (inclusive) on the
    UTC day of the timestamp expression ``day``. Column names are ours, never user input."""
    given = {f"{column} =": v for column, v in filters.items() if v not in (None, "")}
    if day:
        day_of = f"cast({day} at time zone 'UTC' as date)"
        given |= {f"{day_of} {op}": v for op, v in ((">=", since), ("<=", until)) if v}
    sql = "".join(f" and {condition} ?" for condition in given)
    return sql, tuple(given.values())


# --- fleet -------------------------------------------------------------------------------

# The latest health minute written: charger_last holds each charger's (a few small files),
# where charger_health's max read every health file (2,016 files of 14 days: 0.5 s a page).
FLEET_NOW = "select max(last_minute) as now from raw_charger_last"


def fleet_now() -> Any:
    """The fleet's clock: its latest health minute (a UTC timestamp; None before any).

    Loaders pass it as a parameter rather than as a subquery: a constant reaches the Parquet
    scans (only the last hours' files are read), a subquery does not (every file is)."""
    rows = load(FLEET_NOW)
    return None if rows.empty or pd.isna(rows.iloc[0]["now"]) else rows.iloc[0]["now"]


def fleet_summary() -> pd.DataFrame:
    """One row: chargers, % online, power now, sessions in progress, alerts open (not info,
    detected in the last hour, as ``fleet_health`` counts them), energy of the last 24 h; "now"
    is the fleet's clock (its latest health minute), not the wall clock. The charger figures
    come from ``chargers()`` (the fleet page shows that list too: one ``charger_status`` read)."""
    fleet = chargers()
    now = fleet_now()
    rest = load("""
        select count(*) filter (where status = 'active') as sessions_in_progress,
            (select count(*) from alerts where severity <> 'info' and detected_at
                > $1 - interval 1 hour) as alerts_open,
            coalesce(sum(energy_wh) filter (
                where coalesce(stopped_at, last_event_at) > $1 - interval 24 hour), 0) / 1000.0
                as energy_24h_kwh
        from sessions""", (now,))
    if fleet.empty or rest.empty:
        return pd.DataFrame()
    online = fleet[fleet["online"].fillna(False).astype(bool)]
    return pd.DataFrame([{
        "chargers": len(fleet), "chargers_online": len(online),
        "online_pct": round(100.0 * len(online) / len(fleet), 1),
        "power_kw": float(online["power_w"].fillna(0).sum()) / 1000.0,
        "avg_response_time_ms": fleet["response_time_ms"].mean(),
        **rest.iloc[0].to_dict()}])


def fleet_trend() -> pd.DataFrame:
    """The fleet's last 4 hours, per minute, oldest first."""
    return load("""select minute, online_pct, power_kw, sessions_in_progress,
        avg_response_time_ms, alerts_open from fleet_health
        where minute > ? - interval 4 hour order by minute""", (fleet_now(),))


# --- chargers ----------------------------------------------------------------------------

_CHARGERS = """
    with recent_alerts as (
        select charge_point_id, count(*) as alerts_1h from alerts
        where severity <> 'info' and session_id is null
            and detected_at > ? - interval 1 hour
        group by charge_point_id
    )
    select case when not c.online then 'offline'
            when coalesce(a.alerts_1h, 0) > 0 or abs(coalesce(c.drift_s, 0)) > 60
                or coalesce(c.response_time_ms, 0) > 5000 then 'degraded'
            else 'ok' end as state,
        c.*, coalesce(a.alerts_1h, 0) as alerts_1h
    from charger_status as c left join recent_alerts as a using (charge_point_id)
    where c.charge_point_id ilike ?
    order by case state when 'offline' then 0 when 'degraded' then 1 else 2 end,
        charge_point_id
"""


def chargers(search: str = "") -> pd.DataFrame:
    """Every charger, offline first, then degraded (a charger-level warning in the last hour,
    drift over a minute or replies slower than 5 s), then the rest; ``search`` matches the id
    anywhere."""
    return load(_CHARGERS, (fleet_now(), f"%{search}%"))


def charger_health(cp: str) -> pd.DataFrame:
    """The charger's last 24 h of health minutes, oldest first."""
    return load("""select * from (select minute, online, online_s, reconnects,
        response_time_ms, drift_s, power_w / 1000.0 as power_kw from charger_health
        where charge_point_id = ? order by minute desc limit 1440) order by minute""", (cp,))


def connectors(cp: str) -> pd.DataFrame:
    """Each connector's latest reported status. Read from ``raw_events``: a duplicate row
    (at-least-once writes) changes neither a latest value nor a max, and the filter on the
    event type then reaches the Parquet scan (through the view's dedup it cannot)."""
    return load("""select evse_id, coalesce(connector_id, 0) as connector_id,
        arg_max(status, server_received_at) as status,
        arg_max(error_code, server_received_at) as error_code,
        cast(max(server_received_at) as timestamptz) as since
        from raw_events where charge_point_id = ? and event_type = 'status_changed'
        group by all order by evse_id nulls first, connector_id""", (cp,))


def charger_protocol(cp: str) -> str | None:
    """The OCPP protocol the charger spoke last (``ocpp1.6``, ``ocpp2.0.1``), None if it
    never sent anything the adapters read."""
    rows = load("""select arg_max(protocol, server_received_at) as protocol from raw_events
        where charge_point_id = ? and protocol <> ''""", (cp,))
    if rows.empty or pd.isna(rows.iloc[0]["protocol"]):
        return None
    return str(rows.iloc[0]["protocol"])


COMMAND_COLUMNS = ("requested_at", "action", "outcome", "status", "latency_ms", "reason",
                   "origin", "requested_by", "session_id", "payload", "answer", "command_id")


def commands(cp: str | None = None, session_id: str | None = None) -> pd.DataFrame:
    """The latest 50 commands sent to the charger (or about the session), newest first:
    what, by whom, how it ended (the ``commands`` view, written by the flow)."""
    where, params = _where({"charge_point_id": cp, "session_id": session_id})
    return load(f"select {', '.join(COMMAND_COLUMNS)} from commands where true {where} "
                "order by requested_at desc limit 50", params)


CONNECTIONS_DAYS = 7


def connections(cp: str) -> pd.DataFrame:
    """Connects, disconnects and refusals of the charger's websocket over the fleet's last
    ``CONNECTIONS_DAYS`` days, newest first (``bounded_frames``: only those days are read)."""
    now = fleet_now()
    since = None if now is None else now - pd.Timedelta(days=CONNECTIONS_DAYS)
    return load("""select received_at, record_kind, connection_id, raw as detail
        from bounded_frames(?, ?, null) where record_kind <> 'frame'
        order by received_at desc limit 500""", (cp, since))


def offline_spans(cp: str) -> pd.DataFrame:
    """Spans the charger was offline: minutes it reported offline, and gaps of more than two
    minutes between the minutes it reported at all; newest first."""
    return load("""
        with h as (
            select minute, online, lag(minute) over (order by minute) as previous,
                sum(case when online then 1 else 0 end) over (order by minute) as island
            from charger_health where charge_point_id = ?
        ),
        spans as (
            select previous + interval 1 minute as offline_from, minute as offline_until
            from h where minute - previous > interval 2 minute
            union all
            select min(minute), max(minute) + interval 1 minute from h
            where not online group by island
        )
        select *, date_diff('second', offline_from, offline_until) / 60.0 as minutes
        from spans order by offline_from desc""", (cp,))


# --- sessions ----------------------------------------------------------------------------

_SESSION_COLUMNS = ("session_id, charge_point_id, connector_id, status, started_at, "
                    "stopped_at, energy_wh, energy_kwh, energy_rule, id_tag, flags")


def sessions(cp: str | None = None, status: str | None = None, since: date | None = None,
             until: date | None = None) -> pd.DataFrame:
    """Sessions newest first; ``since``/``until`` are UTC days, inclusive, on the start (or
    the stop when the start is unknown)."""
    where, params = _where({"charge_point_id": cp, "status": status},
                           "coalesce(started_at, stopped_at)", since, until)
    return load(f"select {_SESSION_COLUMNS} from sessions where true {where} "
                "order by coalesce(started_at, stopped_at) desc nulls last limit 2000", params)


def session(session_id: str) -> pd.DataFrame:
    return load("select * from sessions where session_id = ?", (session_id,))


# Where a session's frames lie in server time, from every version written of it (raw, so no
# dedup to pay for): its first version is written when its first frame arrives (updated_at),
# last_event_at is its latest frame's. The hour's margin keeps the answers to its first and
# last frames and charger-clock start and stop times the drift correction left early or late.
# A session not closed (active, stuck, abandoned) may still get frames: no upper bound.
_SESSION_SPAN = """
    select count(*) as versions,
        case when count(distinct charge_point_id) = 1 then any_value(charge_point_id) end
            as charge_point_id,
        cast(least(min(updated_at), min(started_at), min(stopped_at)) as timestamptz)
            - interval 1 hour as received_from,
        case when arg_max(status, version) in ('completed', 'orphan_stop') then
            cast(greatest(max(last_event_at), max(stopped_at)) as timestamptz)
                + interval 1 hour
        end as received_until
    from raw_sessions where session_id = ?
"""


def session_span(session_id: str) -> tuple[Any, ...] | None:
    """(charge point, received from, received until): where the session's frames and events
    lie, in server time with an hour's margin, for loaders to pass on so that only those
    Parquet row groups are read; an element is None when unknown, the whole None when there
    is no such session. A frame of the session over an hour outside its span is missed."""
    span = load(_SESSION_SPAN, (session_id,))
    if span.empty or span.iloc[0]["versions"] == 0:
        return None
    cp, since, until = span.iloc[0][["charge_point_id", "received_from", "received_until"]]
    return tuple(None if pd.isna(v) else v for v in (cp, since, until))


def session_samples(session_id: str) -> pd.DataFrame:
    """Power (kW) and energy delivered so far (kWh) per meter sample of the session."""
    span = session_span(session_id)
    if span is None:
        return pd.DataFrame(columns=["at", "power_kw", "energy_kwh"])
    return load("""
        with samples as (
            select e.server_received_at as "at",
                max(e.value) filter (where e.measurand = 'Power.Active.Import') as power_w,
                max(e.value) filter (where e.measurand = 'Energy.Active.Import.Register')
                    as register_wh
            from bounded_events($2, $3, $4) as e join sessions as s
                on e.charge_point_id = s.charge_point_id
                and e.transaction_key = s.transaction_id
            where s.session_id = $1 and e.event_type = 'meter_sample' and e.phase is null
            group by e.server_received_at
        )
        select "at", power_w / 1000.0 as power_kw,
            (register_wh - min(register_wh) over ()) / 1000.0 as energy_kwh
        from samples order by 1""", (session_id, *span))


_TIMELINE_COLUMNS = ("position", "at", "source", "direction", "action", "event_type",
                     "summary", "frame_id", "event_id", "raw")


def timeline(session_id: str) -> pd.DataFrame:
    """Every frame and event of the session in order (``position``): its rows of the
    ``session_timeline`` view, read through ``session_timeline_of`` bounded by
    ``session_span``."""
    span = session_span(session_id)
    if span is None:
        return pd.DataFrame(columns=list(_TIMELINE_COLUMNS))
    columns = ", ".join(f'"{c}"' for c in _TIMELINE_COLUMNS)
    return load(f"select {columns} from session_timeline_of(?, ?, ?, ?) order by position",
                (session_id, *span))


# --- alerts ------------------------------------------------------------------------------

def alerts(kind: str | None = None, cp: str | None = None, session_id: str | None = None,
           since: date | None = None, until: date | None = None) -> pd.DataFrame:
    """Alerts newest first, filtered by kind, charger, session and UTC detection day."""
    where, params = _where({"kind": kind, "charge_point_id": cp, "session_id": session_id},
                           "detected_at", since, until)
    return load("select detected_at, kind, severity, charge_point_id, session_id, "
                "connector_id, value, unit, message, event_time, alert_id from alerts "
                f"where true {where} order by detected_at desc limit 2000", params)


def alerts_per_hour(kind: str | None = None, cp: str | None = None, since: date | None = None,
                    until: date | None = None) -> pd.DataFrame:
    """How many alerts of each kind were detected in each UTC hour (same filters)."""
    where, params = _where({"kind": kind, "charge_point_id": cp}, "detected_at", since, until)
    return load("select date_trunc('hour', detected_at) as hour, kind, count(*) as alerts "
                f"from alerts where true {where} group by all order by 1, 2", params)


# --- finance -----------------------------------------------------------------------------

def billable_by(dimension: str) -> pd.DataFrame:
    """Billable and held energy (kWh) per ``period``, ``charger`` or ``driver``."""
    column = FINANCE_DIMENSIONS[dimension]
    return load(f"""select {column} as {dimension}, count(*) as sessions,
        count(*) filter (where billable) as billable_sessions,
        coalesce(sum(energy_kwh) filter (where billable), 0) as billable_kwh,
        coalesce(sum(energy_kwh) filter (where not billable), 0) as held_kwh
        from finance_unpriced group by all order by 1""")


def holds() -> pd.DataFrame:
    """Finished sessions finance must not bill yet, and why."""
    return load("""select session_id, charge_point_id, id_tag, period, stopped_at, energy_kwh,
        status, hold_reason from finance_unpriced where not billable
        order by stopped_at desc nulls last""")


def finance_days() -> pd.DataFrame:
    return load("""select cast(min(stopped_at) at time zone 'UTC' as date) as first_day,
        cast(max(stopped_at) at time zone 'UTC' as date) as last_day from finance_unpriced""")


def finance_export(first_day: date, last_day: date, fmt: str) -> bytes:
    """The finance export of ``warehouse.export`` (same rows and bytes as ``chargeline
    export``: CSV cells a spreadsheet would run as formulas escaped), as a CSV or Parquet
    file."""
    return _finance_export(str(data_dir()), first_day, last_day, fmt)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def _finance_export(path: str, first_day: date, last_day: date, fmt: str) -> bytes:
    table = finance_rows(Path(path), first_day, last_day)
    if fmt == "csv":
        return csv_bytes(table)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def csv_download(rows: pd.DataFrame) -> bytes:
    """A loader's rows as a CSV download, escaped as every export is (``csv_bytes``)."""
    return csv_bytes(pa.Table.from_pandas(rows, preserve_index=False))


# --- firmware ----------------------------------------------------------------------------

def firmware() -> pd.DataFrame:
    return load("select * from firmware order by chargers desc, firmware_version")


def firmware_updates() -> pd.DataFrame:
    """Each charger's latest firmware status notification (update progress).

    In two steps: which chargers sent one, and when, from the raw files (a scan of one
    column), then the events view on those chargers and that span only. A filter on
    event_type cannot pass the view's dedup (duplicates of an event are told apart by
    adapter), so on its own it deduplicated every event (8 s at 33 M events); a filter on
    charger and time can."""
    span = load("""select list(distinct charge_point_id) as chargers,
        cast(min(server_received_at) as timestamptz) as since,
        cast(max(server_received_at) as timestamptz) as until
        from raw_events where event_type = 'firmware_status'""")
    if span.empty or not span.iloc[0]["chargers"]:
        return pd.DataFrame(columns=["charge_point_id", "update_status", "reported_at",
                                     "notifications"])
    chargers, since, until = span.iloc[0][["chargers", "since", "until"]]
    marks = ", ".join("?" * len(chargers))
    return load(f"""select charge_point_id, arg_max(status, server_received_at) as update_status,
        max(server_received_at) as reported_at, count(*) as notifications
        from events where event_type = 'firmware_status' and charge_point_id in ({marks})
            and server_received_at between ? and ?
        group by all order by reported_at desc""", (*chargers, since, until))
