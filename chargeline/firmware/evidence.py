"""The evidence a rollout is judged on, read from the warehouse (read-only, as a dashboard
reads it) for a set of chargers, each since its own time (the send of its command).

Four small queries, each bounded by the chargers and the earliest time: firmware statuses
and boots (``events``), the last frame heard (``events``), ``boot_loop`` alerts
(``alerts``), sessions with their flags (``sessions``).
"""

from __future__ import annotations

from pathlib import Path

from canonical.enums import AlertKind, EventType, SessionStatus
from chargeline.firmware.gates import Evidence, SessionFact, metering_flagged, session_ok
from warehouse.catalog import connect, query

#: Events that are a frame of the charger's: it is alive (a connection alone is not).
HEARD = tuple(e.value for e in (
    EventType.heartbeat, EventType.booted, EventType.status_changed, EventType.firmware_status,
    EventType.meter_sample, EventType.transaction_started, EventType.transaction_updated,
    EventType.transaction_stopped, EventType.authorization, EventType.call_answered,
    EventType.data_transfer, EventType.security_event))

_EVENTS_SQL = f"""
select charge_point_id, event_type, status, firmware_version,
       epoch_ns(server_received_at) as received_ns
from bounded_events(null, to_timestamp($since / 1e9), null)
where list_contains($ids, charge_point_id)
  and event_type in ('{EventType.firmware_status.value}', '{EventType.booted.value}')
order by received_ns
"""
_HEARD_SQL = """
select charge_point_id, epoch_ns(max(server_received_at)) as received_ns
from bounded_events(null, to_timestamp($since / 1e9), null)
where list_contains($ids, charge_point_id) and list_contains($heard, event_type)
group by charge_point_id
"""
_LOOPS_SQL = f"""
select charge_point_id, epoch_ns(detected_at) as received_ns from alerts
where kind = '{AlertKind.boot_loop.value}' and list_contains($ids, charge_point_id)
  and detected_at >= to_timestamp($since / 1e9)
"""
_SESSIONS_SQL = """
select charge_point_id, status, flags, epoch_ns(started_at) as started_at from sessions
where list_contains($ids, charge_point_id) and started_at >= to_timestamp($since / 1e9)
"""


def read_evidence(data_dir: Path, since: dict[str, int]) -> dict[str, Evidence]:
    """Each charger's evidence at or after its ``since`` (UTC ns). Raises duckdb.Error /
    OSError when the warehouse cannot be read now (not built yet, compacting)."""
    if not since:
        return {}
    params = {"ids": sorted(since), "since": min(since.values()) // 1_000_000_000 * 1e9}
    out = {cp: Evidence() for cp in since}
    con = connect(data_dir)
    try:
        for row in query(con, data_dir, _EVENTS_SQL, params).to_pylist():
            cp, at = row["charge_point_id"], row["received_ns"]
            if at < since[cp]:
                continue
            if row["event_type"] == EventType.booted:
                out[cp].boots.append((at, row["firmware_version"]))
            elif row["status"]:
                out[cp].statuses.append((at, row["status"]))
        for row in query(con, data_dir, _HEARD_SQL, params | {"heard": list(HEARD)}).to_pylist():
            out[row["charge_point_id"]].last_heard_at = row["received_ns"]
        for row in query(con, data_dir, _LOOPS_SQL, params).to_pylist():
            e, at = out[row["charge_point_id"]], row["received_ns"]
            if at >= since[row["charge_point_id"]]:
                e.boot_loop_at = at if e.boot_loop_at is None else min(e.boot_loop_at, at)
        for row in query(con, data_dir, _SESSIONS_SQL, params).to_pylist():
            out[row["charge_point_id"]].sessions.append(SessionFact(
                row["started_at"], row["status"] != SessionStatus.active,
                session_ok(row["status"], row["flags"]), metering_flagged(row["flags"])))
    finally:
        con.close()
    return out
