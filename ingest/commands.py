"""The command desk: CSMS-initiated calls to connected chargers, one at a time per charger.

OCPP-J allows one outstanding CALL per direction, so a charger's commands queue behind each
other (``send`` waits its turn; the timeout covers the wait and the answer). Before anything
is sent the action and payload are checked against the action's schema for the charger's
protocol (``ingest.actions``). Every command ends in a ``CommandRecord`` journaled as a
``command`` record, whatever became of it; the CALL and the answer are journaled as frames by
the connection, the CALL before it is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed

from canonical import RawFrame
from canonical.commands import CommandOrigin, CommandOutcome, CommandRecord, answer_status
from canonical.enums import Direction, MessageType, ParseStatus, Protocol, RecordKind
from canonical.errors import JournalError
from ingest.actions import PayloadRefused, check
from ingest.connection import ChargerConnection
from ingest.journal.backend import Journal

log = logging.getLogger("chargeline.commands")
MAX_TIMEOUT_S = 600.0
RECENT = 500


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """What to send to whom, and on whose behalf. ``protocol`` is needed only when the
    charger may be offline and the payload must still be checked (an observed step).
    ``command_id``: the CALL's message id, when the caller must find it again after a crash
    (a firmware rollout derives it from its step: OCPP-J allows 36 characters); else fresh."""

    charge_point_id: str
    action: str
    payload: dict[str, Any]
    timeout_s: float = 30.0
    origin: CommandOrigin = CommandOrigin.api
    requested_by: str = ""
    session_id: str | None = None
    transaction_id: str | None = None
    step: str | None = None
    observe_only: bool = False
    protocol: Protocol | None = None
    command_id: str | None = None


@dataclass
class CommandDesk:
    """Sends commands through the live connections (``CentralSystem.live``)."""

    live: Mapping[str, ChargerConnection]
    journal: Journal
    recent: deque[CommandRecord] = field(default_factory=lambda: deque(maxlen=RECENT))
    _turns: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def send(self, request: CommandRequest) -> CommandRecord:
        """Send it (or not) and tell what became of it; never raises for the charger's sake."""
        requested = time.time_ns()
        command_id = request.command_id or uuid.uuid4().hex
        conn = self.live.get(request.charge_point_id)
        protocol = conn.protocol if conn is not None else request.protocol
        ending = _Ending(request, command_id, requested, protocol)
        if not 0 < request.timeout_s <= MAX_TIMEOUT_S:
            return await self._close(ending.of(CommandOutcome.invalid, reason=(
                f"timeout must be within (0, {MAX_TIMEOUT_S:g}] s, got {request.timeout_s}")))
        if protocol is not None:
            try:
                check(protocol, request.action, request.payload)
            except PayloadRefused as exc:
                return await self._close(ending.of(CommandOutcome.invalid, reason=str(exc)))
        if request.observe_only:
            return await self._close(ending.of(CommandOutcome.observed,
                                               reason="observe only: not sent"))
        if conn is None:
            return await self._close(ending.of(CommandOutcome.offline, reason="not connected"))
        if conn.commands_refused is not None:
            return await self._close(ending.of(CommandOutcome.invalid,
                                               reason=conn.commands_refused))
        record = await self._exchange(request, ending)
        return await self._close(record, ending.connection_id)

    async def _exchange(self, request: CommandRequest, ending: _Ending) -> CommandRecord:
        cp_id = request.charge_point_id
        turn = self._turns.setdefault(cp_id, asyncio.Lock())
        try:
            async with asyncio.timeout(request.timeout_s):
                async with turn:
                    conn = self.live.get(cp_id)  # it may have reconnected while queued
                    if conn is None:
                        return ending.of(CommandOutcome.offline,
                                         reason="disconnected while queued")
                    ending.connection_id, ending.protocol = conn.connection_id, conn.protocol
                    frame = await conn.call(request.action, request.payload,
                                            MAX_TIMEOUT_S, ending.command_id,
                                            on_sent=ending.mark_sent)
        except TimeoutError:
            where = "the charger's answer" if ending.sent_at else "another command to finish"
            return ending.of(CommandOutcome.timeout,
                             reason=f"no answer in {request.timeout_s:g} s (waiting for {where})")
        except ConnectionClosed:
            return ending.of(CommandOutcome.offline, reason="disconnected before answering")
        except JournalError as exc:
            return ending.of(CommandOutcome.unavailable, reason=f"not sent: {exc}")
        finally:
            if not turn.locked() and not getattr(turn, "_waiters", None):
                self._turns.pop(cp_id, None)
        if frame.message_type == MessageType.call_result:
            return ending.of(CommandOutcome.answered, answer=frame.payload,
                             status=answer_status(frame.payload), reason="")
        error = [frame.error_code, frame.error_description, frame.payload]
        return ending.of(CommandOutcome.call_error, answer=error, status=frame.error_code,
                         reason=f"{frame.error_code}: {frame.error_description}")

    async def _close(self, record: CommandRecord, connection_id: str = "") -> CommandRecord:
        """Journal the record (best effort: the frames are journaled already) and keep it.
        It carries the connection and message id of its CALL, so the timelines find the CALL
        and the answer beside it."""
        self.recent.append(record)
        note = RawFrame(0, record.finished_at, record.charge_point_id, connection_id,
                        record.protocol,
                        Direction.none, RecordKind.command, None, record.command_id,
                        record.action, record.to_json(), ParseStatus.not_applicable)
        try:
            await self.journal.write([note])
        except JournalError:
            log.error("command %s to %s not journaled", record.action, record.charge_point_id)
        level = logging.INFO if record.outcome == CommandOutcome.answered else logging.WARNING
        log.log(level, "%s %s -> %s %s", record.charge_point_id, record.action, record.outcome,
                record.status or record.reason)
        return record


@dataclass
class _Ending:
    """The facts of a command as they come in; ``of`` makes its record."""

    request: CommandRequest
    command_id: str
    requested_at: int
    protocol: Protocol | None
    connection_id: str = ""
    sent_at: int | None = None

    def mark_sent(self) -> None:
        self.sent_at = time.time_ns()

    def of(self, outcome: CommandOutcome, *, reason: str, answer: Any = None,
           status: str | None = None) -> CommandRecord:
        r, now = self.request, time.time_ns()
        latency = (now - self.sent_at) / 1e6 if self.sent_at and answer is not None else None
        return CommandRecord(
            command_id=self.command_id, charge_point_id=r.charge_point_id,
            protocol=self.protocol.value if self.protocol else "", action=r.action,
            payload=orjson.dumps(r.payload).decode(), origin=r.origin.value,
            requested_by=r.requested_by, requested_at=self.requested_at, sent_at=self.sent_at,
            finished_at=now, outcome=outcome.value, status=status,
            answer=None if answer is None else orjson.dumps(answer).decode(),
            latency_ms=None if latency is None else round(latency, 3), reason=reason,
            session_id=r.session_id, transaction_id=r.transaction_id, step=r.step)
