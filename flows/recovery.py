"""Guarded stuck-session recovery: what the flow decides about a ``stuck`` session from the
charger's own journaled evidence (the playbook's commands are sent by the agent beside
``serve``, ``chargeline.recovery``; the flow never sends, so a replay decides the same).

| evidence, after the session went stuck | ``act`` | ``observe`` |
|---|---|---|
| status ``Available``, its connector (1.6) / EVSE and connector (2.0.1) | closed | flagged |
| GetTransactionStatus: ``ongoingIndicator: false``, no messages queued | closed | flagged |
| charger offline ``recovery_close_after_s`` since the session's last evidence | closed | flagged |
| readings, a transaction message, a charging status, ``ongoingIndicator: true`` | active | active |
| its real stop | completed by it | completed by it |

Closed: status ``completed`` at the last trusted register reading (``meter_stop_wh``, the
energy ``so_far`` would bill; ``energy_rule`` ``recovery_last_reading``), ``stopped_at`` the
server time of its last evidence, flag ``closed_by_recovery`` (a billing hold). Flagged:
still ``stuck``, flag ``recovery_would_close`` (no hold). ``off``: neither; an ``Available``
is then a sign of the session, as it always was.

A reboot while the session ran: the stuck watchdog no longer takes the charger's heartbeats as
the session's sign (``flows.stuck``), and ``Available`` is never a sign of a running session
(it is the lost transaction's evidence once the session is stuck).

Guards: a reading the charger sent without a transaction id after such a decision is an idle
connector's, not the session's; a status about another transaction (the adapter names the one
open on the slot) or arriving after a refused start on the slot (a driver tried: the status is
about that try) closes nothing; a charging status closes nothing; a refused start is never
recovered. Every decision is revised by later evidence: a sign the session continues undoes it
(``active``, ``recovered_from_stuck``, ``recovery_revised`` when it had been closed); its real
stop replaces it (the stop's meter and time win, ``recovery_revised``); the ``stuck_session``
alert stays as history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from canonical.enums import (
    ConnectorStatus,
    EventType,
    Protocol,
    RecoveryPolicy,
    SessionFlag,
    SessionStatus,
    TransactionState,
)
from canonical.events import CanonicalEvent
from flows.config import FlowConfig, S

if TYPE_CHECKING:
    from flows.health import HealthTracker
    from flows.session import Session

RULE = "recovery_last_reading"
#: Statuses that say the connector is busy with a transaction: never a reason to close.
CONTINUES = frozenset({ConnectorStatus.charging, ConnectorStatus.suspended_ev,
                       ConnectorStatus.suspended_evse, ConnectorStatus.occupied})
_STATUS, _ANSWERED = EventType.status_changed.value, EventType.call_answered.value
_SAMPLE = EventType.meter_sample.value
_STUCK, _ACTIVE = SessionStatus.stuck.value, SessionStatus.active.value
_PENDING = (SessionFlag.recovery_would_close, SessionFlag.closed_by_recovery)


class RecoveryCause(StrEnum):
    """Why recovery closed (or would close) a session."""

    charger_available = "charger_available"
    transaction_ended = "transaction_ended"
    charger_offline = "charger_offline"


class RecoveryClose(NamedTuple):
    """A decision standing on a session (``Session.recovery``)."""

    cause: RecoveryCause
    decided_at: int  # server time, UTC ns
    frame_id: int | None  # the evidence's frame (None for the offline timer)


def evidence(e: CanonicalEvent, sessions: Iterable[Session],
             config: FlowConfig) -> list[Session] | None:
    """The sessions a status or an answer to our CALL changed; None when the event is none
    of recovery's business (the session book handles it as before)."""
    if config.recovery == RecoveryPolicy.off:
        return None
    if e.event_type == _ANSWERED:
        return _answered(e, sessions, config)
    if e.event_type != _STATUS:
        return None
    sessions = list(sessions)
    named = [s for s in sessions if (s.status == _STUCK or s.recovery) and (
        _on_slot(s, e) or s.transaction_key == e.transaction_key)]
    if not named:  # Available is no sign of a running session: it may be what a reboot lost
        return [] if e.status == ConnectorStatus.available else None
    refused = [s for s in sessions if SessionFlag.start_refused in s.flags and _on_slot(s, e)]
    mine = [s for s in named if _on_slot(s, e) and _about(s, e, refused)]
    if e.status in CONTINUES:
        for s in mine:
            s.last_event_at = max(s.last_event_at, e.server_received_at)
        return [s for s in mine if heard(s)]
    if e.status != ConnectorStatus.available:
        return []  # Preparing, Finishing, Faulted...: no sign of the session, nor of its end
    return [s for s in mine if decide(
        s, RecoveryCause.charger_available, e.server_received_at, e.frame_id, config)]


def idle_reading(s: Session, e: CanonicalEvent) -> bool:
    """A sample the charger sent without a transaction id (the adapter put it on the slot's
    open transaction) after recovery decided the session is gone: a reading of an idle
    connector (a 1.6 TriggerMessage MeterValues answered after ``Available``), neither its
    evidence nor a sign of it."""
    return e.event_type == _SAMPLE and e.transaction_id_raw is None and any(
        flag in s.flags for flag in _PENDING)


def _answered(e: CanonicalEvent, sessions: Iterable[Session],
              config: FlowConfig) -> list[Session]:
    """A GetTransactionStatus answer about one of the sessions."""
    if e.reason != "GetTransactionStatus" or e.transaction_key is None:
        return []
    session = next((s for s in sessions if s.transaction_key == e.transaction_key
                    and s.protocol == e.protocol), None)
    if session is None:
        return []
    if e.status == TransactionState.ongoing:
        return [session] if heard(session) else []
    if e.status == TransactionState.ended and decide(
            session, RecoveryCause.transaction_ended, e.server_received_at, e.frame_id, config):
        return [session]
    return []


def _on_slot(s: Session, e: CanonicalEvent) -> bool:
    if not Protocol(s.protocol).ocpp2:
        return s.connector_id == e.connector_id
    return s.evse_id == e.evse_id and (
        s.connector_id is None or e.connector_id is None or s.connector_id == e.connector_id)


def _about(s: Session, e: CanonicalEvent, refused: list[Session]) -> bool:
    """The status may be about ``s``: no other transaction open on the slot, no refused start
    there since the session's last evidence."""
    if e.transaction_key not in (None, s.transaction_key):
        return False
    return not any(r is not s and (r.start_received_at or 0) > s.last_event_at
                   for r in refused)


def decide(s: Session, cause: RecoveryCause, at: int, frame_id: int | None,
           config: FlowConfig) -> bool:
    """Close (``act``) or flag (``observe``) a stuck session; False if nothing changed."""
    if s.status != _STUCK or s.recovery is not None or SessionFlag.start_refused in s.flags:
        return False
    if config.recovery == RecoveryPolicy.observe:
        return s.flag(SessionFlag.recovery_would_close)
    s.recovery = RecoveryClose(cause, at, frame_id)
    s.status = SessionStatus.completed.value
    s.meter_stop_wh, s.stopped_at = s.walk.last_register_wh, s.last_event_at
    s.flag(SessionFlag.closed_by_recovery)
    return True


def heard(s: Session) -> bool:
    """A sign of the session itself (a reading, a transaction message, a charging status,
    ``ongoingIndicator: true``, its stop): what was stuck or abandoned is running again, and
    a recovery decision is undone. True if it changed."""
    changed = undo(s)
    if s.status in (_STUCK, SessionStatus.abandoned):
        if s.status == _STUCK:
            s.flag(SessionFlag.recovered_from_stuck)
        s.status = (SessionStatus.completed if s.stopped else SessionStatus.active).value
        changed = True
    return changed


def undo(s: Session) -> bool:
    """Withdraw a recovery decision (later evidence outranks it); it was stuck before."""
    if not s.flags or not any(flag in s.flags for flag in _PENDING):
        return False
    s.unflag(SessionFlag.recovery_would_close)
    if s.recovery is not None:
        s.recovery = None
        s.unflag(SessionFlag.closed_by_recovery)
        s.flag(SessionFlag.recovery_revised)
        if not s.stopped:
            s.meter_stop_wh = s.stopped_at = None
        s.status = _STUCK
    return True


def booted_under(active: list[Session], e: CanonicalEvent, config: FlowConfig) -> int:
    """The time of a boot while sessions ran (their transactions may be lost: the stuck
    watchdog stops taking the charger's heartbeats as their sign), else 0; 0 when off."""
    return e.server_received_at if active and config.recovery != RecoveryPolicy.off else 0


def still_under(booted_at: int, active: Callable[[], list[Session]]) -> int:
    """``booted_at`` while a running session has not been heard of since that boot, else 0
    (the watchdog's fast path is back)."""
    return booted_at if booted_at and any(s.last_event_at < booted_at for s in active()) else 0


def advance(now: int, sessions: Iterable[Session], health: HealthTracker,
            config: FlowConfig) -> list[Session]:
    """The offline timer: stuck sessions whose charger has been offline
    ``recovery_close_after_s`` since their last evidence, decided at that deadline."""
    wait = int(config.recovery_close_after_s * S)
    if health.online or health.offline_since is None or \
            config.recovery == RecoveryPolicy.off or now < health.offline_since + wait:
        return []  # the common case, checked on every event, without walking the sessions
    due = [s for s in sessions if s.status == _STUCK and
           now >= max(s.last_event_at, health.offline_since or 0) + wait]
    return [s for s in due if decide(
        s, RecoveryCause.charger_offline,
        max(s.last_event_at, health.offline_since or 0) + wait, None, config)]
