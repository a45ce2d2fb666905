"""Sessions of one charge point: start, updates, samples, stop(s) reconciled into ``Session``s.

A session's energy, flags and alerts are a function of its deduplicated evidence in protocol
order, not of arrival order (``flows.readings``, ``flows.review``). Rules (each a test in
tests/flows/test_sessions.py and tests/flows/test_order_independence.py):

- A session is keyed by its transaction id; one without (placeholder never resolved) gets
  ``<charge point>:start:<frame>`` / ``:stop:<frame>``.
- A second start of the same transaction never makes a second session: after a reboot it is a
  ``phantom_transaction`` (a replayed start), otherwise a ``duplicate_start``. A start whose
  content equals another's on the same connector (idTag, meterStart, timestamp) under a new id
  (an older central system answered a retried start with a second id) is the same physical
  start: one session stands (the one with more evidence), the other is ``void`` — not stuck,
  not billed — and a ``phantom_transaction`` alert names it.
- A CALL resent under its own message id (our answer was lost) is a retransmission: ignored.
- Stops: every one is kept; the first in charger time bills (``flows.stops`` has the policy
  table: identical resends are recorded, never held; differing ones alerted, held past the
  tolerance). A real Stop replaces one an adapter synthesized (Zaptec Q19). A stop received
  ``late_stop_s`` after its own time is accepted and flagged ``late_stop``. A stop without a
  start makes an ``orphan_stop`` session, flagged, alerted; a start arriving later completes it.
- Samples or updates of a transaction never started open its session already (flag
  ``start_missing``), so their meter readings are evidence for its energy.
- A session silent for ``stuck_after_s`` while its charger is offline or silent is ``stuck``;
  any later sign of it makes it ``active`` (or ``completed``) again; ``flows.recovery``
  closes it on the charger's evidence that it is gone (and revises that on later evidence).
- A session never stopped when a later transaction starts on its connector is ``abandoned``
  (flag ``superseded``); any later sign of it makes it ``active`` (or ``completed``) again.
- Evidence about a session closed and forgotten long ago changes nothing (no new session).
"""

from __future__ import annotations

from bisect import insort
from typing import TYPE_CHECKING, ClassVar

from canonical.enums import (
    AlertKind,
    EventType,
    Protocol,
    SessionFlag,
    SessionStatus,
    TokenStatus,
    ValueIssue,
)
from canonical.events import CanonicalEvent
from canonical.findings import Alert, SessionRecord
from flows import recovery
from flows.alerts import make_alert
from flows.clock_drift import DriftEstimator
from flows.config import FlowConfig, S
from flows.plausibility import ChargerKind
from flows.readings import reading_of
from flows.review import review
from flows.session import Session
from flows.stops import StopEvidence, late_stop, stop_of
from flows.stuck import check_stuck
from flows.twins import resolve_twins, twin_key

if TYPE_CHECKING:
    from flows.charger import ChargerPipeline
    from flows.health import HealthTracker

KEEP_CLOSED = 64
KEEP_FORGOTTEN = 1024
KEEP_STOPS_PER_SLOT = 16
_CLOSED = (SessionStatus.completed, SessionStatus.orphan_stop, SessionStatus.void)
_LEFT = (SessionStatus.stuck, SessionStatus.abandoned)  # forgotten once silent long enough
_BOOTED, _SAMPLE = EventType.booted.value, EventType.meter_sample.value
_STARTED, _STOPPED = EventType.transaction_started.value, EventType.transaction_stopped.value
_UPDATED, _AUTHORIZATION = EventType.transaction_updated.value, EventType.authorization.value
_EVIDENCE = (EventType.status_changed.value, EventType.call_answered.value)


class SessionBook:
    """The sessions of one charge point. ``apply`` returns alerts; ``flush`` the new versions."""

    def __init__(self, charge_point_id: str, config: FlowConfig) -> None:
        self.charge_point_id = charge_point_id
        self.config = config
        self.sessions: dict[str, Session] = {}
        self.dirty: list[str] = []
        self.last_boot_at: int = 0
        self.stops_by_slot: dict[str, list[tuple[int, float, str]]] = {}
        self.twins: dict[tuple[object, ...], list[str]] = {}
        self.forgotten: dict[str, None] = {}
        self.kind = ChargerKind()
        self.flushes = 0
        self.unsettled: dict[str, int | None] = {}  # stopped sessions with new readings
        self.booted_under = 0  # a reboot while sessions ran (flows.recovery.booted_under)

    def active(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.status == SessionStatus.active]

    TIMED: ClassVar[bool] = True
    KINDS: ClassVar[frozenset[AlertKind]] = frozenset({
        AlertKind.phantom_transaction, AlertKind.duplicate_start, AlertKind.duplicate_stop,
        AlertKind.late_stop, AlertKind.stop_without_start, AlertKind.meter_mismatch,
        AlertKind.meter_reset, AlertKind.meter_unit_error, AlertKind.meter_implausible,
        AlertKind.stuck_session})

    def advance(self, now: int, charger: ChargerPipeline) -> list[Alert]:
        alerts = check_stuck(self.active, now, charger.health, self.config, self.booted_under)
        if not alerts and not self.booted_under and charger.health.online:
            return alerts  # no boot pending, no recovery timer while online: checked per event
        self.booted_under = recovery.still_under(self.booted_under, self.active)
        for session in [self.sessions[a.session_id or ""] for a in alerts] + recovery.advance(
                now, self.sessions.values(), charger.health, self.config):
            self._mark(session)
        return alerts

    def apply(self, e: CanonicalEvent, charger: ChargerPipeline) -> list[Alert]:
        kind = e.event_type  # compared with plain strs: enum attribute access is slow
        if kind == _BOOTED:
            self.last_boot_at = e.server_received_at
            self.booted_under = recovery.booted_under(self.active(), e, self.config)
            return []
        if kind == _SAMPLE:
            self.kind.see(e)
        elif kind == _STARTED:
            return self._start(e, charger.drift)
        elif kind == _STOPPED:
            return self._stop(e, charger.drift)
        elif kind == _AUTHORIZATION:
            return self._refused(e)
        elif kind in _EVIDENCE and self._recovery(e):
            return []
        if e.transaction_key is None:
            return []
        sid = self._id(e.transaction_key)
        session = self.sessions.get(sid)
        if session is None:
            if kind not in (_SAMPLE, _UPDATED) or sid in self.forgotten:
                return []
            session = self._new(e, sid)
            session.flag(SessionFlag.start_missing)
        elif recovery.idle_reading(session, e):
            return []
        self._touch(session, e)
        if kind == _SAMPLE:
            reading = reading_of(e)
            if reading is None or not session.add_reading(reading):
                return []
        elif kind == _UPDATED and e.seq_no is not None:
            self._update(session, e, e.seq_no)
        self._mark(session)
        if session.stopped:
            self.unsettled[session.session_id] = e.frame_id
        return self._review(session, e, readings_only=True)

    def settle(self, now: int) -> list[Alert]:
        """Judge the stopped sessions that got readings in the frame just applied."""
        if not self.unsettled:
            return []
        alerts: list[Alert] = []
        limit_w = self.kind.limit_w(self.config)
        for sid, frame_id in self.unsettled.items():
            session = self.sessions.get(sid)
            if session is not None:
                alerts += review(session, limit_w, self.config, now, frame_id)
        self.unsettled.clear()
        return alerts

    def flush(self, updated_at: int) -> list[SessionRecord]:
        """A new version of every session changed since the last flush."""
        out = [self.sessions[sid].to_record(updated_at) for sid in self.dirty
               if sid in self.sessions]
        self.dirty.clear()
        self.flushes += 1
        if self.flushes % 256 == 0:
            for session in self.sessions.values():
                session.release_evidence(updated_at)
        self._forget_closed(updated_at)
        return out

    def quiet_wait(self, health: HealthTracker) -> int | None:
        """How long (ns) after ``health.last_seen`` an event that changes no session cannot
        make the watchdog or the recovery timer fire: the charger is online, and no reboot
        under a running session is pending. None when that does not hold."""
        if self.booted_under or not health.online:
            return None
        return int(self.config.stuck_after_s * S)

    def flush_counts_only(self) -> bool:
        """True when ``flush`` would only count: nothing changed, nothing to forget."""
        return not self.dirty and not self.unsettled and len(self.sessions) <= 2 * KEEP_CLOSED

    def absorb_flushes(self, times: list[int]) -> None:
        """``flush`` at each of ``times`` (server ns, in order) while ``flush_counts_only``:
        the count, and the evidence released at every 256th, at its time."""
        for i in range(-(self.flushes + 1) % 256, len(times), 256):
            for session in self.sessions.values():
                session.release_evidence(times[i])
        self.flushes += len(times)

    def _id(self, key: str) -> str:
        return f"{self.charge_point_id}:{key}"

    def _mark(self, session: Session) -> None:
        if session.session_id not in self.dirty:
            self.dirty.append(session.session_id)

    def _review(self, session: Session, e: CanonicalEvent, *,
                readings_only: bool = False) -> list[Alert]:
        return review(session, self.kind.limit_w(self.config), self.config,
                      e.server_received_at, e.frame_id, readings_only=readings_only)

    def _recovery(self, e: CanonicalEvent) -> bool:
        """True when recovery took the event (``flows.recovery.evidence``), e.g. answers."""
        changed = recovery.evidence(e, self.sessions.values(), self.config)
        self.dirty += [s.session_id for s in changed or () if s.session_id not in self.dirty]
        return changed is not None or e.event_type == EventType.call_answered

    def _touch(self, session: Session, e: CanonicalEvent) -> None:
        session.last_event_at = max(session.last_event_at, e.server_received_at)
        recovery.heard(session)

    def _update(self, session: Session, e: CanonicalEvent, seq: int) -> None:
        content = (e.charger_at, e.meter_wh, e.trigger, e.status)
        seen = session.updates.get(seq)
        if seen is None:
            session.updates[seq] = content
        elif seen == content:
            session.flag(SessionFlag.update_resent)
        else:
            session.flag(SessionFlag.duplicate_update)

    def _new(self, e: CanonicalEvent, sid: str) -> Session:
        session = Session(sid, self.charge_point_id, e.protocol, e.transaction_key,
                          e.connector_id, e.evse_id, e.id_tag, last_event_at=e.server_received_at)
        at = e.charger_at if e.charger_at is not None else e.server_received_at
        session.previous_stop_wh = self._previous_stop(self._slot(e), at, sid)
        self.sessions[sid] = session
        return session

    def _start(self, e: CanonicalEvent, drift: DriftEstimator) -> list[Alert]:
        sid = self._id(e.transaction_key) if e.transaction_key else \
            f"{self.charge_point_id}:start:{e.frame_id}"
        if sid in self.forgotten:
            return []
        session = self.sessions.get(sid)
        if session is not None and session.started:
            return self._repeated_start(session, e)
        refused = e.protocol == Protocol.v16 and e.status not in (None, TokenStatus.accepted)
        if refused and e.transaction_key is None:
            return []  # refused, no id: the charger starts nothing (Q31 swept the real one)
        session = session or self._new(e, sid)
        self._touch(session, e)
        session.start_frame_id, session.start_received_at = e.frame_id, e.server_received_at
        session.start_message_id = e.message_id
        session.started_at = drift.correct(e.charger_at) or e.server_received_at
        session.started_at_raw = e.charger_at_raw
        session.start_order = e.charger_at if e.charger_at is not None else e.server_received_at
        session.clock_offset_s = drift.estimate_s
        session.id_tag = e.id_tag or session.id_tag
        session.connector_id = session.connector_id or e.connector_id
        session.evse_id = session.evse_id or e.evse_id
        if e.transaction_key is None:
            session.flag(SessionFlag.no_transaction_id)
        if ValueIssue.placeholder_zero in e.value_issues:
            session.flag(SessionFlag.placeholder_start_meter)
        session.meter_start_wh = e.meter_wh
        session.previous_stop_wh = self._previous_stop(self._slot(e), session.start_order, sid)
        self._start_came_late(session)
        if refused:
            session.flag(SessionFlag.start_refused)
        else:
            self._supersede(session)
        self._mark(session)
        return self._twins(session, e) + self._review(session, e)

    def _refused(self, e: CanonicalEvent) -> list[Alert]:
        """The CSMS refused the token of a transaction not ended (a 2.0.1 TransactionEvent
        answered Blocked, Expired, Unknown...): the station stops it, as a 1.6 charger does
        after a refused start, so the session is flagged ``start_refused`` as a 1.6 one is."""
        if e.transaction_key is None or e.status in (None, TokenStatus.accepted):
            return []
        session = self.sessions.get(self._id(e.transaction_key))
        if session is not None and not session.stopped and session.flag(
                SessionFlag.start_refused):
            self._mark(session)
        return []

    def _twins(self, session: Session, e: CanonicalEvent) -> list[Alert]:
        key = twin_key(session)
        if key is None:
            return []
        group = self.twins.setdefault(key, [])
        if session.session_id not in group:
            group.append(session.session_id)
        if len(group) < 2:
            return []
        members = [self.sessions[sid] for sid in group if sid in self.sessions]
        for member in members:
            self._mark(member)
        return resolve_twins(members, e)

    @staticmethod
    def _start_came_late(session: Session) -> None:
        """A start after its samples or its stop (out of order, e.g. a queue replayed after
        an outage) completes the session: what held it is resolved, the order is noted."""
        late = [f for f in (SessionFlag.start_missing, SessionFlag.stop_without_start)
                if f in session.flags]
        if not late:
            return
        for name in late:
            session.unflag(name)
        session.flag(SessionFlag.start_after_stop if SessionFlag.stop_without_start in late
                     else SessionFlag.start_late)
        if session.status == SessionStatus.orphan_stop:
            session.status = SessionStatus.completed.value

    def _supersede(self, new: Session) -> None:
        """A transaction started on a connector whose earlier transaction never stopped: the
        charger has moved on, so the earlier one will not end (its stop was lost: a reboot
        that forgot it, a queue that overflowed). It becomes ``abandoned`` (flag
        ``superseded``), which finance holds: its energy is known only up to its last
        sample. A stop or sample of it arriving later (out of order) revives it."""
        if new.start_order is None or (new.connector_id is None and new.evse_id is None):
            return
        slot = self._slot_of(new)
        for other in self.sessions.values():
            if other is new or other.start_order is None or self._slot_of(other) != slot:
                continue
            # ``new`` may be a start that arrived late: then it is the one superseded.
            old = other if other.start_order < new.start_order else new
            if not old.stopped and old.status in (SessionStatus.active, SessionStatus.stuck):
                old.status = SessionStatus.abandoned.value
                old.flag(SessionFlag.superseded)
                self._mark(old)

    def _retransmitted(self, first_message_id: str | None, first_at: int | None,
                       e: CanonicalEvent) -> bool:
        """The same CALL again under its message id, no reboot in between: the charger never
        got our answer (a lost link, our restart) and resent it, as OCPP-J says to. Nothing
        happened twice: no alert. (After a reboot, a repeat is a replay: alerted.)"""
        return first_message_id is not None and e.message_id == first_message_id and \
            self.last_boot_at <= (first_at or 0)

    def _repeated_start(self, session: Session, e: CanonicalEvent) -> list[Alert]:
        """The same transaction started again: after a reboot a replay (``phantom``,
        alerted); otherwise a resend (flag ``duplicate_start``), alerted only when its
        content differs — an identical resend under a new message id is benign."""
        if self._retransmitted(session.start_message_id, session.start_received_at, e):
            return []
        phantom = self.last_boot_at > (session.start_received_at or 0)
        if session.flag(SessionFlag.phantom if phantom else SessionFlag.duplicate_start):
            self._mark(session)
        same = (e.meter_wh, e.charger_at_raw, e.id_tag or session.id_tag) == (
            session.meter_start_wh, session.started_at_raw, session.id_tag)
        if not phantom and same:
            return []
        kind = AlertKind.phantom_transaction if phantom else AlertKind.duplicate_start
        what = "replayed after a reboot" if phantom else "sent again with other content"
        return [make_alert(kind, self.charge_point_id, session.session_id,
                           detected_at=e.server_received_at, event_time=e.charger_at,
                           session_id=session.session_id, connector_id=session.connector_id,
                           frame_id=e.frame_id,
                           message=f"start of transaction {session.transaction_key} {what}; "
                                   "billed once")]

    def _stop(self, e: CanonicalEvent, drift: DriftEstimator) -> list[Alert]:
        sid = self._id(e.transaction_key) if e.transaction_key else \
            f"{self.charge_point_id}:stop:{e.frame_id}"
        if sid in self.forgotten:
            return []
        session = self.sessions.get(sid)
        stop = stop_of(e)
        if session is not None and any(self._retransmitted(s.message_id, s.received_at, e)
                                       for s in session.stops):
            return []
        alerts: list[Alert] = []
        if session is None or not session.started:
            session = session or self._new(e, sid)
            if not session.stops:
                session.status = SessionStatus.orphan_stop.value
                session.flag(SessionFlag.stop_without_start)
                alerts.append(make_alert(
                    AlertKind.stop_without_start, self.charge_point_id, sid,
                    detected_at=e.server_received_at, event_time=e.charger_at, session_id=sid,
                    frame_id=e.frame_id, value=e.meter_wh, unit="Wh",
                    message=f"stop of transaction {e.transaction_key} whose start never came"))
        self._touch(session, e)
        insort(session.stops, stop)
        if session.stops[0] is stop:
            self._close(session, stop, drift)
            alerts += late_stop(session, e, self.config)
        self._mark(session)
        return alerts + self._review(session, e) + self._review_next(session, e)

    def _close(self, session: Session, stop: StopEvidence, drift: DriftEstimator) -> None:
        session.stop_frame_id, session.stop_reason = stop.frame_id, stop.reason
        session.stopped_at = drift.correct(stop.charger_at) or stop.received_at
        session.stopped_at_raw = stop.charger_at_raw
        session.stop_order = stop.at
        session.meter_stop_wh = stop.meter_wh
        session.id_tag = session.id_tag or stop.id_tag
        if session.status not in (SessionStatus.orphan_stop, SessionStatus.void):
            session.status = SessionStatus.completed.value
        if stop.meter_wh is not None:
            stops = self.stops_by_slot.setdefault(self._slot_of(session), [])
            stops[:] = [s for s in stops if s[2] != session.session_id]
            insort(stops, (stop.at, stop.meter_wh, session.session_id))
            del stops[:-KEEP_STOPS_PER_SLOT]

    def _previous_stop(self, slot: str, before: int | None, sid: str) -> float | None:
        """The meterStop of the latest session stopped on ``slot`` before ``before``."""
        found = None
        for stopped_at, meter_wh, other in self.stops_by_slot.get(slot, ()):
            if before is not None and stopped_at > before:
                break
            if other != sid:
                found = meter_wh
        return found

    def _review_next(self, stopped: Session, e: CanonicalEvent) -> list[Alert]:
        """A stop that arrived late may be the previous stop of a session already seen."""
        at, slot = stopped.stop_order, self._slot_of(stopped)
        later = [s for s in self.sessions.values() if s.start_order is not None and at is not None
                 and s.start_order >= at and s is not stopped and self._slot_of(s) == slot]
        if not later:
            return []
        nxt = min(later, key=lambda s: s.start_order or 0)
        previous = self._previous_stop(slot, nxt.start_order, nxt.session_id)
        if previous == nxt.previous_stop_wh:
            return []
        nxt.previous_stop_wh = previous
        self._mark(nxt)
        return self._review(nxt, e)

    def _slot(self, e: CanonicalEvent) -> str:
        return str(e.evse_id if e.evse_id is not None else e.connector_id)

    def _slot_of(self, s: Session) -> str:
        return str(s.evse_id if s.evse_id is not None else s.connector_id)

    def _forget_closed(self, now: int) -> None:
        if len(self.sessions) <= 2 * KEEP_CLOSED:  # amortized: trim in steps, not every flush
            return
        long_ago = now - int(self.config.evict_after_s * S)
        closed = [sid for sid, s in self.sessions.items() if (  # a real stop may follow recovery
            s.last_event_at < long_ago if s.status in _LEFT or s.recovery else s.status in _CLOSED)]
        for sid in closed[: max(0, len(closed) - KEEP_CLOSED)]:
            del self.sessions[sid]
            self.forgotten[sid] = None
        for sid in list(self.forgotten)[: max(0, len(self.forgotten) - KEEP_FORGOTTEN)]:
            del self.forgotten[sid]
        live = set(self.sessions)
        self.twins = {k: g for k, g in self.twins.items() if live.intersection(g)}
