"""Operator actions: the commands the dashboards may send, and what the page says of them.

The builders are pure: from a session's or charger's protocol and ids to the ``Command`` the
admin API is asked to send, with a sentence saying what it will do (the confirmation shows
it). ``send`` hands a command to the admin API of the ``serve`` running on the data dir
(``chargeline.admin_client``): the dashboards never write to the journal or the warehouse.
Every failure to send comes back as an ``Outcome``, never as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canonical.commands import CommandOrigin, CommandOutcome
from canonical.enums import Protocol
from canonical.errors import ChargelineError

RESET_KINDS = {Protocol.v16: ("Soft", "Hard"), Protocol.v201: ("OnIdle", "Immediate")}
TIMEOUT_S = 30.0


class ActionUnavailable(ValueError):
    """The action cannot be built for this charger or session; the message says why."""


@dataclass(frozen=True)
class Command:
    """One command to send: OCPP ``action`` and ``payload`` for ``charge_point_id``, what it
    is about (``session_id``, ``transaction_id``) and, in words, what it will do."""

    charge_point_id: str
    action: str
    payload: dict[str, Any]
    what: str
    session_id: str | None = None
    transaction_id: str | None = None


def _protocol(protocol: str) -> Protocol:
    try:
        return Protocol(protocol)
    except ValueError:
        raise ActionUnavailable(f"unknown protocol {protocol!r}: expected one of "
                                f"{[p.value for p in Protocol]}") from None


def stop_session(protocol: str, charge_point_id: str, session_id: str,
                 transaction_id: str | None) -> Command:
    """End a running session: 1.6 RemoteStopTransaction (its transactionId as an integer),
    2.0.1 RequestStopTransaction (its transactionId as text)."""
    if not transaction_id:
        raise ActionUnavailable(f"session {session_id!r} has no transaction id to stop")
    payload: dict[str, Any]
    if _protocol(protocol) == Protocol.v16:
        try:
            action, payload = "RemoteStopTransaction", {"transactionId": int(transaction_id)}
        except ValueError:
            raise ActionUnavailable(f"1.6 transaction id {transaction_id!r} is not an "
                                    "integer") from None
    else:
        action, payload = "RequestStopTransaction", {"transactionId": transaction_id}
    return Command(charge_point_id, action, payload,
                   f"Asks charger {charge_point_id} to stop session {session_id} "
                   f"(transaction {transaction_id}): charging ends.",
                   session_id=session_id, transaction_id=transaction_id)


def reset(protocol: str, charge_point_id: str, kind: str) -> Command:
    """Reboot the charger: 1.6 Reset Soft|Hard, 2.0.1 Reset OnIdle|Immediate."""
    kinds = RESET_KINDS[Protocol.v201 if _protocol(protocol).ocpp2 else Protocol.v16]
    if kind not in kinds:
        raise ActionUnavailable(f"reset kind {kind!r} is not one of {list(kinds)} "
                                f"for {protocol}")
    return Command(charge_point_id, "Reset", {"type": kind},
                   f"Resets charger {charge_point_id} ({kind}): it reboots, and a "
                   "session running on it may end.")


def unlock(protocol: str, charge_point_id: str, connector_id: int,
           evse_id: int | None = None) -> Command:
    """Release a connector's cable: 1.6 UnlockConnector {connectorId}, 2.0.1
    UnlockConnector {evseId, connectorId} (EVSE 1 when unknown)."""
    if connector_id < 1:
        raise ActionUnavailable(f"connector {connector_id} cannot be unlocked (from 1 up)")
    if _protocol(protocol) == Protocol.v16:
        payload: dict[str, Any] = {"connectorId": connector_id}
        where = f"connector {connector_id}"
    else:
        payload = {"evseId": evse_id or 1, "connectorId": connector_id}
        where = f"EVSE {evse_id or 1} connector {connector_id}"
    return Command(charge_point_id, "UnlockConnector", payload,
                   f"Unlocks {where} of charger {charge_point_id}: a session on it ends.")


def trigger_status(protocol: str, charge_point_id: str) -> Command:
    """Ask for fresh StatusNotifications (TriggerMessage), in either protocol."""
    _protocol(protocol)  # the same payload in both, but only for a protocol we speak
    return Command(charge_point_id, "TriggerMessage", {"requestedMessage": "StatusNotification"},
                   f"Asks charger {charge_point_id} to send its connectors' status now.")


@dataclass(frozen=True)
class Outcome:
    """What the page says of a command: ``ok`` (the charger accepted), a one-line
    ``headline``, and the command record the admin API returned (empty when it could not be
    asked)."""

    ok: bool
    headline: str
    record: dict[str, Any] = field(default_factory=dict)


_ACCEPTED = {"Accepted", "Unlocked", "Scheduled"}


def outcome_of(record: dict[str, Any]) -> Outcome:
    """The headline of a command record (``canonical.commands.CommandRecord`` as JSON)."""
    outcome, status, reason = record.get("outcome"), record.get("status"), record.get("reason")
    if outcome == CommandOutcome.answered:
        latency = record.get("latency_ms")
        took = f" in {latency:.0f} ms" if isinstance(latency, int | float) else ""
        ok = status in _ACCEPTED
        said = f"answered {status}{took}" if status else f"answered{took}"
        return Outcome(ok, f"{'Done' if ok else 'Refused'}: the charger {said}.", record)
    headlines: dict[str, str] = {
        CommandOutcome.call_error: f"Refused: the charger answered an error ({reason}).",
        CommandOutcome.timeout: f"No answer: {reason}.",
        CommandOutcome.offline: f"Not sent: the charger is offline ({reason}).",
        CommandOutcome.invalid: f"Not sent: chargeline refused the command ({reason}).",
        CommandOutcome.unavailable: f"Not sent: {reason}.",
    }
    return Outcome(False, headlines.get(str(outcome), f"{outcome}: {reason}"), record)


def send(command: Command, data_dir: Path, operator: str,
         timeout_s: float = TIMEOUT_S) -> Outcome:
    """Send ``command`` through the admin API on behalf of ``operator``; what became of it.
    Blocks until the charger answers or ``timeout_s`` passes."""
    from chargeline.admin_client import AdminClient

    try:
        record = AdminClient.of(data_dir).send(
            command.charge_point_id, command.action, command.payload, timeout_s,
            origin=CommandOrigin.dashboard, requested_by=operator,
            session_id=command.session_id, transaction_id=command.transaction_id)
    except ChargelineError as exc:
        return Outcome(False, f"Not sent: the admin API is not available ({exc}).")
    return outcome_of(record)
