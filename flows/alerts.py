"""Building alerts: one id per fact (so repeats and replays dedupe), severity by kind."""

from __future__ import annotations

from canonical.enums import AlertKind, Severity
from canonical.findings import Alert

SEVERITY: dict[AlertKind, Severity] = {
    AlertKind.clock_drift: Severity.warning,
    AlertKind.clock_timezone_offset: Severity.warning,
    AlertKind.clock_unsynced: Severity.warning,
    AlertKind.phantom_transaction: Severity.warning,
    AlertKind.duplicate_start: Severity.info,
    AlertKind.duplicate_stop: Severity.info,
    AlertKind.late_stop: Severity.info,
    AlertKind.stop_without_start: Severity.warning,
    AlertKind.meter_mismatch: Severity.critical,
    AlertKind.meter_reset: Severity.warning,
    AlertKind.meter_unit_error: Severity.critical,
    AlertKind.meter_implausible: Severity.critical,
    AlertKind.stuck_session: Severity.critical,
    AlertKind.charger_offline: Severity.warning,
    AlertKind.boot_loop: Severity.critical,
    AlertKind.flapping_connection: Severity.warning,
    AlertKind.quarantined_frame: Severity.info,
    AlertKind.firmware_rollout_halted: Severity.critical,
}


def make_alert(kind: AlertKind, charge_point_id: str, about: str, *, detected_at: int,
               message: str, session_id: str | None = None, connector_id: int | None = None,
               event_time: int | None = None, value: float | None = None,
               unit: str | None = None, frame_id: int | None = None,
               detail: str | None = None) -> Alert:
    """An alert whose id is ``<charge_point_id>:<kind>:<about>``: ``about`` names the fact
    (a session, an episode start), so the same fact found twice is one alert."""
    return Alert(alert_id=f"{charge_point_id}:{kind.value}:{about}", kind=kind.value,
                 severity=SEVERITY[kind].value, charge_point_id=charge_point_id,
                 session_id=session_id, connector_id=connector_id, detected_at=detected_at,
                 event_time=event_time, value=value, unit=unit, message=message,
                 frame_id=frame_id, detail=detail)
