"""Sessions of one charge point: start, updates, samples, stop(s) reconciled into ``Session``s.

Rules (each a test in tests/flows/test_sessions.py):

- A session is keyed by its transaction id; one without (placeholder never resolved) gets
  ``<charge point>:start:<frame>`` / ``:stop:<frame>``.
- A second start of the same transaction never makes a second session: after a reboot it is a
  ``phantom_transaction`` (a replayed start), otherwise a ``duplicate_start``.
- A CALL resent under its own message id (our answer was lost) is a retransmission: ignored.
- The first stop wins; later ones are ``duplicate_stop`` and change nothing — except that a
  real Stop replaces one an adapter synthesized (Zaptec Q19: ``Available`` closes a session).
  A stop received ``late_stop_s`` after its own time is accepted and flagged ``late_stop``.
  A stop without a start makes an ``orphan_stop`` session, flagged, alerted; a start arriving
  later completes it.
  Samples or updates of a transaction never started open its session already (flag
  ``start_missing``), so their meter readings are evidence for its energy.
- Samples are evidence: a register going down is a reset (the energy before it still counts)
  or, at a ~1000x ratio, a unit error (the sample is ignored); see ``flows.energy``.
- A session silent for ``stuck_after_s`` while its charger is offline or silent is ``stuck``;
  any later sign of it makes it ``active`` (or ``completed``) again.
- A session never stopped when a later transaction starts on its connector is ``abandoned``
  (flag ``superseded``); any later sign of it makes it ``active`` (or ``completed``) again.
"""

from __future__ import annotations

from canonical.enums import AlertKind, EventType, SessionStatus
from canonical.events import CanonicalEvent
from canonical.findings import Alert, SessionRecord
from flows.alerts import make_alert
from flows.clock_drift import DriftEstimator
from flows.config import FlowConfig, S
from flows.meter_check import check_sample, check_start, check_stop
from flows.session import Session

KEEP_CLOSED = 64


class SessionBook:
    """The sessions of one charge point. ``apply`` returns alerts; ``flush`` the new versions."""

    def __init__(self, charge_point_id: str, config: FlowConfig) -> None:
        self.charge_point_id = charge_point_id
        self.config = config
        self.sessions: dict[str, Session] = {}
        self.dirty: list[str] = []
        self.last_boot_at: int = 0
        self.last_stop_wh: dict[str, float] = {}

    def active(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.status == SessionStatus.active]

    def apply(self, e: CanonicalEvent, drift: DriftEstimator) -> list[Alert]:
        kind = e.event_type
        if kind == EventType.booted:
            self.last_boot_at = e.server_received_at
            return []
        if kind == EventType.transaction_started:
            return self._start(e, drift)
        if kind == EventType.transaction_stopped:
            return self._stop(e, drift)
        if e.transaction_key is None:
            return []
        session = self.sessions.get(self._id(e.transaction_key))
        if session is None:
            if kind not in (EventType.meter_sample, EventType.transaction_updated):
                return []
            session = self._new(e, self._id(e.transaction_key))
            session.flag("start_missing")
        alerts = self._touch(session, e)
        if kind == EventType.meter_sample:
            alerts += check_sample(session, e, self.config)
        elif kind == EventType.transaction_updated and e.seq_no is not None:
            if e.seq_no in session.seq_seen:
                session.flag("duplicate_update")
            session.seq_seen.append(e.seq_no)
        self._mark(session)
        return alerts

    def flush(self, updated_at: int) -> list[SessionRecord]:
        """A new version of every session changed since the last flush."""
        out = [self.sessions[sid].to_record(updated_at) for sid in self.dirty
               if sid in self.sessions]
        self.dirty.clear()
        self._forget_closed()
        return out

    def _id(self, key: str) -> str:
        return f"{self.charge_point_id}:{key}"

    def _mark(self, session: Session) -> None:
        if session.session_id not in self.dirty:
            self.dirty.append(session.session_id)

    def _touch(self, session: Session, e: CanonicalEvent) -> list[Alert]:
        session.last_event_at = max(session.last_event_at, e.server_received_at)
        if session.status in (SessionStatus.stuck, SessionStatus.abandoned):
            if session.status == SessionStatus.stuck:
                session.flag("recovered_from_stuck")
            session.status = (SessionStatus.completed if session.stopped
                              else SessionStatus.active).value
        return []

    def _new(self, e: CanonicalEvent, sid: str) -> Session:
        session = Session(sid, self.charge_point_id, e.protocol, e.transaction_key,
                          e.connector_id, e.evse_id, e.id_tag, last_event_at=e.server_received_at)
        session.previous_stop_wh = self.last_stop_wh.get(self._slot(e))
        self.sessions[sid] = session
        return session

    def _start(self, e: CanonicalEvent, drift: DriftEstimator) -> list[Alert]:
        sid = self._id(e.transaction_key) if e.transaction_key else \
            f"{self.charge_point_id}:start:{e.frame_id}"
        session = self.sessions.get(sid)
        if session is not None and session.started:
            return self._repeated_start(session, e)
        session = session or self._new(e, sid)
        self._touch(session, e)
        session.start_frame_id, session.start_received_at = e.frame_id, e.server_received_at
        session.start_message_id = e.message_id
        session.started_at = drift.correct(e.charger_at) or e.server_received_at
        session.started_at_raw = e.charger_at_raw
        session.clock_offset_s = drift.estimate_s
        session.id_tag = e.id_tag or session.id_tag
        session.connector_id = session.connector_id or e.connector_id
        session.evse_id = session.evse_id or e.evse_id
        if e.transaction_key is None:
            session.flag("no_transaction_id")
        if e.value_issue and "placeholder_zero" in e.value_issue:
            session.flag("placeholder_start_meter")
        session.meter_start_wh = e.meter_wh
        self._start_came_late(session)
        self._supersede(session)
        self._mark(session)
        previous = session.previous_stop_wh if session.stopped else \
            self.last_stop_wh.get(self._slot(e))  # a late start: not against its own stop
        return check_start(session, e, previous, self.config)

    @staticmethod
    def _start_came_late(session: Session) -> None:
        """A start after its samples or its stop (out of order, e.g. a queue replayed after
        an outage) completes the session: what held it is resolved, the order is noted."""
        late = [f for f in ("start_missing", "stop_without_start") if f in session.flags]
        if not late:
            return
        session.flags = [f for f in session.flags if f not in late]
        session.flag("start_after_stop" if "stop_without_start" in late else "start_late")
        if session.status == SessionStatus.orphan_stop:
            session.status = SessionStatus.completed.value

    def _supersede(self, new: Session) -> None:
        """A transaction started on a connector whose earlier transaction never stopped: the
        charger has moved on, so the earlier one will not end (its stop was lost: a reboot
        that forgot it, a queue that overflowed). It becomes ``abandoned`` (flag
        ``superseded``), which finance holds: its energy is known only up to its last
        sample. A stop or sample of it arriving later (out of order) revives it."""
        if new.started_at is None or (new.connector_id is None and new.evse_id is None):
            return
        slot = self._slot_of(new)
        for other in self.sessions.values():
            if other is new or other.started_at is None or self._slot_of(other) != slot:
                continue
            # ``new`` may be a start that arrived late: then it is the one superseded.
            old = other if other.started_at < new.started_at else new
            if not old.stopped and old.status in (SessionStatus.active, SessionStatus.stuck):
                old.status = SessionStatus.abandoned.value
                old.flag("superseded")
                self._mark(old)

    def _retransmitted(self, first_message_id: str | None, first_at: int | None,
                       e: CanonicalEvent) -> bool:
        """The same CALL again under its message id, no reboot in between: the charger never
        got our answer (a lost link, our restart) and resent it, as OCPP-J says to. Nothing
        happened twice: no alert. (After a reboot, a repeat is a replay: alerted.)"""
        return first_message_id is not None and e.message_id == first_message_id and \
            self.last_boot_at <= (first_at or 0)

    def _repeated_start(self, session: Session, e: CanonicalEvent) -> list[Alert]:
        if self._retransmitted(session.start_message_id, session.start_received_at, e):
            return []
        phantom = self.last_boot_at > (session.start_received_at or 0)
        kind = AlertKind.phantom_transaction if phantom else AlertKind.duplicate_start
        if session.flag("phantom" if phantom else "duplicate_start"):
            self._mark(session)
        what = "replayed after a reboot" if phantom else "sent again"
        return [make_alert(kind, self.charge_point_id, session.session_id,
                           detected_at=e.server_received_at, event_time=e.charger_at,
                           session_id=session.session_id, connector_id=session.connector_id,
                           frame_id=e.frame_id,
                           message=f"start of transaction {session.transaction_key} {what}; "
                                   "billed once")]

    def _stop(self, e: CanonicalEvent, drift: DriftEstimator) -> list[Alert]:
        sid = self._id(e.transaction_key) if e.transaction_key else \
            f"{self.charge_point_id}:stop:{e.frame_id}"
        session = self.sessions.get(sid)
        real = "synthesized_stop" not in (e.value_issue or "")
        if session is not None and session.stopped and not (session.stop_synthesized and real):
            return self._repeated_stop(session, e)
        alerts: list[Alert] = []
        if session is None or not session.started:
            session = session or self._new(e, sid)
            session.status = SessionStatus.orphan_stop.value
            session.flag("stop_without_start")
            alerts.append(make_alert(
                AlertKind.stop_without_start, self.charge_point_id, sid,
                detected_at=e.server_received_at, event_time=e.charger_at, session_id=sid,
                frame_id=e.frame_id, value=e.meter_wh, unit="Wh",
                message=f"stop of transaction {e.transaction_key} whose start never came"))
        self._touch(session, e)
        self._close(session, e, drift)
        return alerts + self._late(session, e) + check_stop(session, e, self.config)

    def _close(self, session: Session, e: CanonicalEvent, drift: DriftEstimator) -> None:
        session.stop_frame_id, session.stop_reason = e.frame_id, e.reason
        session.stop_message_id = e.message_id
        session.stopped_at = drift.correct(e.charger_at) or e.server_received_at
        session.stopped_at_raw = e.charger_at_raw
        session.meter_stop_wh = e.meter_wh
        session.stop_synthesized = "synthesized_stop" in (e.value_issue or "")
        session.id_tag = session.id_tag or e.id_tag
        if session.status != SessionStatus.orphan_stop:
            session.status = SessionStatus.completed.value
        if e.meter_wh is not None:
            self.last_stop_wh[self._slot_of(session)] = e.meter_wh
        self._mark(session)

    def _repeated_stop(self, session: Session, e: CanonicalEvent) -> list[Alert]:
        if self._retransmitted(session.stop_message_id, session.last_event_at, e):
            return []
        if session.flag("duplicate_stop"):
            self._mark(session)
        differs = e.meter_wh != session.meter_stop_wh
        return [make_alert(AlertKind.duplicate_stop, self.charge_point_id, session.session_id,
                           detected_at=e.server_received_at, event_time=e.charger_at,
                           session_id=session.session_id, connector_id=session.connector_id,
                           frame_id=e.frame_id, value=e.meter_wh, unit="Wh",
                           message="stop sent again; the first one stands"
                                   + (" (different meterStop)" if differs else ""))]

    def _late(self, session: Session, e: CanonicalEvent) -> list[Alert]:
        if session.stopped_at is None or e.charger_at is None:
            return []
        delay_s = (e.server_received_at - session.stopped_at) / S
        if delay_s < self.config.late_stop_s:
            return []
        session.flag("late_stop")
        return [make_alert(AlertKind.late_stop, self.charge_point_id, session.session_id,
                           detected_at=e.server_received_at, event_time=session.stopped_at,
                           session_id=session.session_id, connector_id=session.connector_id,
                           frame_id=e.frame_id, value=round(delay_s, 1), unit="s",
                           message=f"stop arrived {delay_s / 3600:.1f} h after the session ended")]

    def check_stuck(self, now: int, online: bool, last_seen: int,
                    offline_since: int | None) -> list[Alert]:
        """Mark silent sessions stuck (see the module docstring); ``now`` is server time."""
        wait = int(self.config.stuck_after_s * S)
        # Every deadline below is at least this: nothing can be due before it (the common
        # case, checked on every event, without walking the sessions).
        if now < (last_seen if online else offline_since or 0) + wait:
            return []
        alerts = []
        for session in self.active():
            if not session.started and not session.stopped:
                continue
            deadline = (last_seen if online else max(session.last_event_at,
                                                     offline_since or 0)) + wait
            deadline = max(deadline, session.last_event_at + wait)
            if now >= deadline:
                alerts.append(self._stuck(session, deadline))
        return alerts

    def _stuck(self, session: Session, at: int) -> Alert:
        session.status = SessionStatus.stuck.value
        session.stuck_episodes += 1
        session.flag("stuck")
        self._mark(session)
        silent_s = (at - session.last_event_at) / S
        return make_alert(AlertKind.stuck_session, self.charge_point_id,
                          f"{session.session_id}#{session.stuck_episodes}", detected_at=at,
                          event_time=session.last_event_at, session_id=session.session_id,
                          connector_id=session.connector_id, value=round(silent_s, 1), unit="s",
                          message=f"no sign of the session for {silent_s / 60:.0f} min while "
                                  "its charger is offline or silent")

    def _slot(self, e: CanonicalEvent) -> str:
        return str(e.evse_id if e.evse_id is not None else e.connector_id)

    def _slot_of(self, s: Session) -> str:
        return str(s.evse_id if s.evse_id is not None else s.connector_id)

    def _forget_closed(self) -> None:
        if len(self.sessions) <= 2 * KEEP_CLOSED:  # amortized: trim in steps, not every flush
            return
        done = (SessionStatus.completed, SessionStatus.orphan_stop)
        closed = [sid for sid, s in self.sessions.items() if s.status in done]
        for sid in closed[: max(0, len(closed) - KEEP_CLOSED)]:
            del self.sessions[sid]
