"""A session judged from its evidence: every flag and alert recomputed, never accumulated.

``review(session, ...)`` runs after each event that touched the session. It folds the new
readings (all again when one came out of order), then — for a stopped session — settles a
pending register drop with the stop, judges the stops (``flows.stops``), the start and stop
against the meter (``flows.meter_check``) and the physics (``flows.plausibility``). The
session's judged flags are replaced, not added to, so late evidence can clear them; alerts
are named by their evidence (a reading's time, a stop's time, the session), so a finding
made again is the same alert, emitted once; one the whole evidence no longer supports is
withdrawn (a row with ``withdrawn_at``; the ``alerts`` view shows an id's latest state).
"""

from __future__ import annotations

from dataclasses import replace

from canonical.enums import SessionFlag
from canonical.findings import Alert
from flows.alerts import make_alert
from flows.config import FlowConfig
from flows.energy import billable
from flows.meter_check import Found, check_start, check_stop
from flows.meter_walk import Finding, settle
from flows.plausibility import FLAG_OF, judge
from flows.session import Session
from flows.stops import judge_stops


def review(s: Session, limit_w: float, config: FlowConfig, detected_at: int,
           frame_id: int | None, *, readings_only: bool = False) -> list[Alert]:
    """``readings_only``: only readings changed (the common case, a sample): fold them; the
    rest is judged once the frame is through (``SessionBook.settle``), so a stop's own
    ``transactionData``, which comes before it, is not judged against the stop before."""
    new = [_of_walk(f) for f in s.refold(config)]
    if readings_only:
        return _emit(s, new, detected_at, frame_id)
    found = [_of_walk(f) for f in s.walk.findings]
    flags, start_found = check_start(s, config)
    found += start_found
    if s.stopped:
        flags |= _judge_stopped(s, limit_w, config, found)
    s.judged = flags
    return _emit(s, found, detected_at, frame_id) + _withdraw(s, found, detected_at)


def _emit(s: Session, found: list[Found], detected_at: int,
          frame_id: int | None) -> list[Alert]:
    """Alerts for the findings not standing already (a finding made again is the same
    alert; one withdrawn and found again is raised again)."""
    alerts = []
    for f in found:
        alert = _alert(s, f, detected_at, frame_id)
        standing = s.alerted.get(alert.alert_id)
        if standing is None or standing.withdrawn_at is not None:
            s.alerted[alert.alert_id] = alert
            alerts.append(alert)
    return alerts


def _withdraw(s: Session, found: list[Found], now: int) -> list[Alert]:
    """The session's alerts its whole evidence no longer supports (a reading delivered late
    filled the gap that looked wrong): a row withdrawing each, so that the alerts a session
    ends with do not depend on the order its evidence came in."""
    current = {_alert(s, f, now, None).alert_id for f in found}
    gone = [a for aid, a in s.alerted.items() if aid not in current and a.withdrawn_at is None]
    for alert in gone:
        s.alerted[alert.alert_id] = replace(alert, withdrawn_at=now)
    return [s.alerted[a.alert_id] for a in gone]


def _of_walk(f: Finding) -> Found:
    return f.kind, str(f.reading.at), f.amount_wh, f.message, f.reading.at


def _judge_stopped(s: Session, limit_w: float, config: FlowConfig,
                   found: list[Found]) -> set[SessionFlag]:
    if s.walk.pending_drop is not None and s.meter_stop_wh is not None:
        found += [_of_walk(f) for f in settle(s.walk, s.meter_stop_wh, config)]
        s.stale = True  # the next reading folds again from the start, then settles again
    energy = billable(s)[0]
    flags, stop_found = judge_stops(s.stops, energy, config)
    found += [(f.kind, f"stop{f.stop.at}", f.amount_wh, f.message, f.stop.charger_at)
              for f in stop_found]
    mismatch, mismatch_found = check_stop(s, config, against_samples=SessionFlag.conflicting_stop
                                          not in flags)  # the losing stop's readings differ
    found += mismatch_found
    physics = judge(s, energy, limit_w, config)
    found += [(kind, "physics", wh, message, s.stopped_at) for kind, wh, message in physics]
    return flags | mismatch | {FLAG_OF[kind] for kind, _, _ in physics}


def _alert(s: Session, f: Found, detected_at: int, frame_id: int | None) -> Alert:
    kind, about, amount_wh, message, event_time = f
    return make_alert(kind, s.charge_point_id, f"{s.session_id}@{about}" if about
                      else s.session_id, detected_at=detected_at, event_time=event_time,
                      session_id=s.session_id,
                      connector_id=s.connector_id, frame_id=frame_id,
                      value=round(amount_wh, 3), unit="Wh", message=message)
