"""Commands: CSMS-initiated calls chargeline sends to a charger, and what became of them.

A command is journaled twice over: its CALL and the charger's answer as frames (like any
frame), and, once it is over, a ``command`` record (``RecordKind.command``) whose text is a
``CommandRecord`` as JSON. The flow turns that record into a row of the warehouse
``commands`` table and an event on the charger's (and, with a transaction, the session's)
timeline.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from canonical.arrow import UtcNs


class CommandOutcome(StrEnum):
    """How a command ended."""

    answered = "answered"  # a CALLRESULT (whatever its status says)
    call_error = "call_error"  # a CALLERROR
    timeout = "timeout"  # no answer in time (one may still come: it is journaled)
    offline = "offline"  # the charger was not connected, or went away before answering
    invalid = "invalid"  # refused before sending: unknown action, payload against the schema
    unavailable = "unavailable"  # chargeline could not journal the CALL: not sent
    observed = "observed"  # recovery in observe mode: what would have been sent, nothing sent


class CommandOrigin(StrEnum):
    """Who asked: a person through a tool, or chargeline itself."""

    cli = "cli"
    dashboard = "dashboard"
    api = "api"
    recovery = "recovery"
    tokens = "tokens"
    firmware = "firmware"  # a firmware rollout (chargeline.firmware): UpdateFirmware, rollback


class RecoveryStep(StrEnum):
    """The stuck-session playbook's steps (``CommandRecord.step``; docs/recovery.md)."""

    trigger_status = "trigger_status"  # TriggerMessage StatusNotification (1.6, 2.0.1)
    trigger_meter_values = "trigger_meter_values"  # TriggerMessage MeterValues (1.6)
    get_transaction_status = "get_transaction_status"  # GetTransactionStatus (2.0.1)


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command, as the ``commands`` table holds it. ``command_id`` is the CALL's message
    id (a fresh one for a command never sent). ``answer`` is the CALLRESULT payload or the
    CALLERROR ``[code, description, details]`` as JSON text; ``latency_ms`` from sending the
    CALL to its answer. ``session_id`` and ``transaction_id`` when the command is about one
    (a remote stop, a recovery step); ``step`` names a recovery step."""

    command_id: str
    charge_point_id: str
    protocol: str
    action: str
    payload: str
    origin: str
    requested_by: str
    requested_at: UtcNs
    sent_at: UtcNs | None
    finished_at: UtcNs
    outcome: str
    status: str | None
    answer: str | None
    latency_ms: float | None
    reason: str
    session_id: str | None = None
    transaction_id: str | None = None
    step: str | None = None
    frame_id: int = 0

    def to_json(self) -> str:
        return orjson.dumps(dataclasses.asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str, frame_id: int) -> CommandRecord:
        """The record a ``command`` journal record holds; ``frame_id`` is the journal's."""
        data: dict[str, Any] = orjson.loads(text)
        names = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in data.items() if k in names}
        data["frame_id"] = frame_id
        return cls(**data)


def answer_status(answer: Any) -> str | None:
    """The ``status`` an answer names (most CSMS-initiated answers carry one), if any."""
    if isinstance(answer, dict):
        status = answer.get("status")
        return status if isinstance(status, str) else None
    return None
