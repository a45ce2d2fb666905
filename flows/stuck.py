"""The stuck-session watchdog: a session silent for ``stuck_after_s`` while its charger is
offline or silent is ``stuck`` (alerted once per episode); any later sign of it makes it
``active`` or ``completed`` again (``flows.sessions``). With recovery on (``flows.recovery``)
a session silent since its charger rebooted is stuck ``stuck_after_s`` after the boot even if
the charger is online: its heartbeats say nothing of a transaction the reboot may have lost."""

from __future__ import annotations

from collections.abc import Callable

from canonical.enums import AlertKind, SessionFlag, SessionStatus
from canonical.findings import Alert
from flows.alerts import make_alert
from flows.config import FlowConfig, S
from flows.health import HealthTracker
from flows.session import Session


def check_stuck(active: Callable[[], list[Session]], now: int, health: HealthTracker,
                config: FlowConfig, booted_under: int = 0) -> list[Alert]:
    """Mark silent sessions stuck; ``now`` is server time. The alerts name the sessions.
    ``active`` lists the running sessions, asked for only when one can be due;
    ``booted_under``: when the charger rebooted while sessions ran (0: not since they were
    all heard of)."""
    online, last_seen, offline_since = health.online, health.last_seen, health.offline_since
    wait = int(config.stuck_after_s * S)
    # Every deadline below is at least this: nothing can be due before it (the common
    # case, checked on every event, without walking the sessions).
    floor = last_seen if online else offline_since or 0
    if now < (min(floor, booted_under) if booted_under else floor) + wait:
        return []
    alerts = []
    for session in active():
        if not session.started and not session.stopped:
            continue
        deadline = (last_seen if online else max(session.last_event_at,
                                                 offline_since or 0)) + wait
        if online and session.last_event_at < booted_under:
            deadline = booted_under + wait
        deadline = max(deadline, session.last_event_at + wait)
        if now >= deadline:
            alerts.append(_stuck(session, deadline))
    return alerts


def _stuck(session: Session, at: int) -> Alert:
    session.status = SessionStatus.stuck.value
    session.stuck_episodes += 1
    session.flag(SessionFlag.stuck)
    silent_s = (at - session.last_event_at) / S
    return make_alert(AlertKind.stuck_session, session.charge_point_id,
                      f"{session.session_id}#{session.stuck_episodes}", detected_at=at,
                      event_time=session.last_event_at, session_id=session.session_id,
                      connector_id=session.connector_id, value=round(silent_s, 1), unit="s",
                      message=f"no sign of the session for {silent_s / 60:.0f} min while "
                              "its charger is offline or silent")
