"""The live read model (``canonical.live``) from the warehouse: a session now, a charger's
connectors now. The driver API (``chargeline.api``) and the dashboard's session page both
call these, so they show one state.

Each function takes an open read connection and runs two or three queries whatever the number
of sessions asked for, narrowed to their chargers and times so that only those Parquet row
groups are read (the driver API asks for every session its clients follow at once). Energy is
the flow's (``sessions.energy_wh``: for a running session the ``so_far`` rule, last register
sample minus meterStart). Power now is the session's latest ``Power.Active.Import`` sample
when it is as new as its latest register sample, else the register's rise over the last two
register samples (chargers that send no power measurand), of the samples the session row knew
(none received after its ``last_event_at``), so energy and power are of one moment. Cost is
priced by ``warehouse.cost.costs_of`` (the SQL that prices ``finance_sessions``), every session
of a read in one pricing run, up to ``as_of`` for a running session.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from canonical.enums import SessionStatus
from canonical.live import (
    ChargerAvailability,
    ConnectorState,
    LiveSession,
    availability_of,
)
from canonical.tariffs import SessionCost
from warehouse.catalog import query
from warehouse.cost import CostInput, costs_of

#: The margin before a session's start in which its first samples may have been received.
_MARGIN = timedelta(hours=1)
_POWER = "Power.Active.Import"
_REGISTER = "Energy.Active.Import.Register"

_SESSIONS = """
select session_id, charge_point_id, connector_id, evse_id, transaction_id, status,
    started_at, stopped_at, energy_wh, max_power_w, id_tag, flags, last_event_at
from sessions where list_contains($ids, session_id)
"""
# each session's newest samples of each measurand, from one narrowed scan for them all, and
# none newer than the session row's last event: the flow may write a newer sample between this
# query and the sessions one, and a power beside the energy of the read before is a state that
# never was
_SAMPLES = f"""
with known as (select unnest($keys) as key, unnest($known) as upto)
select e.charge_point_id, e.transaction_key, e.server_received_at as at, e.measurand, e.value
from bounded_events(null, $since, null) as e
join known on known.key = e.charge_point_id || chr(0) || e.transaction_key
where list_contains($cps, e.charge_point_id)
    and e.server_received_at <= known.upto
    and e.event_type = 'meter_sample' and e.phase is null
    and e.measurand in ('{_POWER}', '{_REGISTER}') and e.value is not null
qualify row_number() over (partition by e.charge_point_id, e.transaction_key, e.measurand
                           order by e.server_received_at desc) <= 2
"""
_CONNECTORS = """
select evse_id, coalesce(connector_id, 0) as connector_id,
    arg_max(status, server_received_at) as status,
    cast(max(server_received_at) as timestamptz) as since
from raw_events where charge_point_id = $cp and event_type = 'status_changed'
group by all order by evse_id nulls first, connector_id
"""
_ONLINE = "select online, last_seen_at from charger_status where charge_point_id = $cp"


def live_session(con: duckdb.DuckDBPyConnection, data_dir: Path, session_id: str,
                 now: datetime | None = None, priced: bool = True) -> LiveSession | None:
    """The session now (None when the warehouse has no such session)."""
    return live_sessions(con, data_dir, [session_id], now, priced).get(session_id)


def live_sessions(con: duckdb.DuckDBPyConnection, data_dir: Path, session_ids: list[str],
                  now: datetime | None = None, priced: bool = True
                  ) -> dict[str, LiveSession]:
    """Those of ``session_ids`` the warehouse has, now: two queries and one pricing run
    whatever their number (``priced`` False: no cost, no pricing run)."""
    as_of = now or datetime.now(UTC)
    rows = query(con, data_dir, _SESSIONS, {"ids": session_ids}).to_pylist()
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    timed = [r for r in rows if r["transaction_id"] is not None
             and (r["started_at"] or r["stopped_at"]) is not None]
    if timed:
        since = min((r["started_at"] or r["stopped_at"]) for r in timed) - _MARGIN
        keys = [f"{r['charge_point_id']}\0{r['transaction_id']}" for r in timed]
        for x in query(con, data_dir, _SAMPLES, {
                "since": since, "cps": sorted({r["charge_point_id"] for r in timed}),
                "keys": keys, "known": [r["last_event_at"] for r in timed]}).to_pylist():
            samples.setdefault((x["charge_point_id"], x["transaction_key"]), []).append(x)
    costs = _costs(data_dir, rows, as_of) if priced else {}
    return {r["session_id"]: _live(r, samples.get((r["charge_point_id"], r["transaction_id"]),
                                                  []), costs.get(r["session_id"]), as_of)
            for r in rows}


def _costs(data_dir: Path, rows: list[dict[str, Any]], as_of: datetime
           ) -> dict[str, SessionCost]:
    """Each session's cost up to its stop, or ``as_of`` while it runs."""
    return costs_of(data_dir, [
        CostInput(r["session_id"], r["charge_point_id"], r["started_at"],
                  r["stopped_at"] if r["status"] != SessionStatus.active and r["stopped_at"]
                  else as_of, r["energy_wh"], r["max_power_w"])
        for r in rows if r["started_at"] is not None])


def _live(s: dict[str, Any], samples: list[dict[str, Any]], cost: SessionCost | None,
          as_of: datetime) -> LiveSession:
    status = SessionStatus(s["status"])
    started, stopped = s["started_at"], s["stopped_at"]
    samples = sorted(samples, key=lambda x: x["at"], reverse=True)
    sampled = samples[0]["at"] if samples else None
    power = _power_kw(samples) if status == SessionStatus.active else None
    end = stopped if status != SessionStatus.active else as_of
    duration = None if started is None or end is None else \
        max(0.0, (end - started).total_seconds())
    energy = None if s["energy_wh"] is None else round(s["energy_wh"] / 1000, 3)
    return LiveSession(
        session_id=s["session_id"], charge_point_id=s["charge_point_id"],
        connector_id=s["connector_id"], evse_id=s["evse_id"], status=status,
        started_at=started, stopped_at=stopped, duration_s=duration, energy_kwh=energy,
        power_kw=power, sampled_at=sampled, cost=cost,
        cost_provisional=status != SessionStatus.completed, as_of=as_of)


def _power_kw(samples: list[dict[str, Any]]) -> float | None:
    """Newest first (each measurand's newest two): the latest power sample if no register
    sample is newer, else the register's rise per hour over its last two samples."""
    registers = [r for r in samples if r["measurand"] == _REGISTER and r["value"] is not None]
    powers = [r for r in samples if r["measurand"] == _POWER and r["value"] is not None]
    if powers and (not registers or powers[0]["at"] >= registers[0]["at"]):
        return round(float(powers[0]["value"]) / 1000, 3)
    if len(registers) >= 2:
        (b, a) = registers[0], registers[1]
        hours: float = (b["at"] - a["at"]).total_seconds() / 3600
        if hours > 0:
            return round(max(0.0, float(b["value"] - a["value"])) / 1000 / hours, 3)
    return None


def charger_availability(con: duckdb.DuckDBPyConnection, data_dir: Path, cp: str,
                         now: datetime | None = None) -> ChargerAvailability | None:
    """Each connector's availability now (None for a charger the warehouse never saw)."""
    as_of = now or datetime.now(UTC)
    link = query(con, data_dir, _ONLINE, {"cp": cp}).to_pylist()
    if not link:
        return None
    online = bool(link[0]["online"])
    connectors = tuple(
        ConnectorState(r["evse_id"], r["connector_id"], availability_of(r["status"], online),
                       r["status"], r["since"])
        for r in query(con, data_dir, _CONNECTORS, {"cp": cp}).to_pylist()
        if r["connector_id"] != 0 or r["evse_id"] is not None)  # 1.6 connector 0: the unit
    return ChargerAvailability(cp, online, link[0]["last_seen_at"], connectors, as_of)
