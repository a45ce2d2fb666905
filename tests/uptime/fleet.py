"""A hand-built warehouse for the uptime views: every kind of evidence on one port, with the
answer worked out by hand (written with the real ``WarehouseWriter``).

CP1 (OCPP 1.6, connector 1), 2026-01-01 from 10:00 UTC (T0), health minutes 0..840, so the
fleet clock (as_of) is T0 + 841 min = 2026-01-02 00:01 and the port's window crosses midnight:

=============  ==========================================  ===========================
minutes (T0+)  what happened                               counts as
=============  ==========================================  ===========================
0 (+1 s)       connected (c1); status Available            window starts at +1 s
30 - 40        disconnected, back on c2 at 40              offline 10 min
34             operator ChangeAvailability accepted
35 - 45        status Unavailable, Available at 45         5 min unavailable (35-40
                                                           is offline: precedence)
60 - 75        status Faulted (GroundFailure), exclusion   faulted 15 min, 10 excluded
               'maintenance' 60 - 70
80, 82, 85     no-energy session, RemoteStart Rejected,    failed_starts 80 - 95
               no-energy session
95             a session delivering 7 kWh                  up again
=============  ==========================================  ===========================

CP2 (connector 1) stays connected but silent (frames_in 0) from minute 10 to 30 of its
health: silent_after_s is 360, heard last in minute 9, so silent from minute 16 to 31.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from canonical import to_batch
from canonical.commands import CommandRecord
from tests.warehouse.conftest import MIN, RECORD_TYPES, SEC, T0, event, frame, health, session
from warehouse.writer import WarehouseWriter

LAST_MINUTE = 840
AS_OF = T0 + (LAST_MINUTE + 1) * MIN


def command(command_id: str, at: int, action: str, payload: str, status: str) -> CommandRecord:
    return CommandRecord(
        command_id=command_id, charge_point_id="CP1", protocol="ocpp1.6", action=action,
        payload=payload, origin="cli", requested_by="ops@host", requested_at=at, sent_at=at,
        finished_at=at, outcome="answered", status=status, answer=f'{{"status":"{status}"}}',
        latency_ms=12.0, reason="")


def status(frame_id: int, at: int, value: str, cp: str = "CP1", **kw: Any) -> Any:
    return event(frame_id, event_type="status_changed", charge_point_id=cp, connector_id=1,
                 status=value, error_code=kw.pop("error_code", "NoError"),
                 server_received_at=at, **kw)


def connection(frame_id: int, at: int, kind: str, connection_id: str, cp: str = "CP1") -> Any:
    return frame(frame_id, received_at=at, charge_point_id=cp, connection_id=connection_id,
                 direction="", record_kind=kind, message_type=None, message_id=None,
                 action=None, raw="", parse_status="n/a")


def records() -> dict[str, list[Any]]:
    frames = [connection(1, T0, "connected", "c1"), connection(2, T0 + 30 * MIN, "disconnected", "c1"),
              connection(3, T0 + 40 * MIN, "connected", "c2"),
              connection(4, T0, "connected", "k1", cp="CP2")]
    events = [status(10, T0 + SEC, "Available"), status(11, T0 + 35 * MIN, "Unavailable"),
              status(12, T0 + 45 * MIN, "Available"),
              status(13, T0 + 60 * MIN, "Faulted", error_code="GroundFailure"),
              status(14, T0 + 75 * MIN, "Available"),
              status(15, T0 + SEC, "Available", cp="CP2")]
    sessions = [
        session("1", started_at=T0 + 80 * MIN, stopped_at=T0 + 81 * MIN, energy_wh=0.0),
        session("2", started_at=T0 + 85 * MIN, stopped_at=T0 + 86 * MIN, energy_wh=0.4),
        session("3", started_at=T0 + 95 * MIN, stopped_at=T0 + 120 * MIN, energy_wh=7000.0)]
    silent = range(10, 31)
    health_rows = [health(i) for i in range(LAST_MINUTE + 1)]
    health_rows += [health(i, charge_point_id="CP2", frames_in=0 if i in silent else 3)
                    for i in range(LAST_MINUTE + 1)]
    commands = [
        command("k1", T0 + 34 * MIN, "ChangeAvailability",
                '{"connectorId":1,"type":"Inoperative"}', "Accepted"),
        command("k2", T0 + 82 * MIN, "RemoteStartTransaction",
                '{"connectorId":1,"idTag":"TAG9"}', "Rejected")]
    return {"frames": frames, "events": events, "sessions": sessions,
            "charger_health": health_rows, "commands": commands}


def write(data_dir: Path, tables: dict[str, list[Any]]) -> None:
    writer = WarehouseWriter(data_dir, durable=False)
    types = {**RECORD_TYPES, "commands": CommandRecord}
    for table, rows in tables.items():
        writer.write(table, to_batch(types[table], rows))
