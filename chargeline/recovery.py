"""The stuck-session recovery agent: runs beside ``serve`` (in its event loop) and only sends.

Every ``poll_s`` it reads the stuck sessions from the warehouse (read-only, as a dashboard
does) and, for each one whose charger is connected, runs the playbook (docs/recovery.md):

- 1.6: TriggerMessage StatusNotification {connectorId}, then TriggerMessage MeterValues
  {connectorId};
- 2.0.1: GetTransactionStatus {transactionId}, then TriggerMessage StatusNotification
  {evse: {id, connectorId}}.

Each step goes through the command desk with ``origin=recovery``, the session, the
transaction and the step's name, so it is a row of ``commands`` and an event on the session's
timeline. What the answers mean is the flow's to decide (``flows.recovery``): the agent never
closes anything. ``observe``: the steps are journaled ``observed`` and nothing is sent.

A session is taken at most once per connection of its charger and at most once an hour
(``retry_s``); a charger offline is tried again when it is back. Idempotent across a restart
of serve: the last recovery step journaled for a session (the ``commands`` view) counts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canonical.commands import CommandOrigin, CommandRecord, RecoveryStep
from canonical.enums import Protocol, RecoveryPolicy, SessionFlag, SessionStatus
from chargeline.agents import every
from ingest.commands import CommandDesk, CommandRequest
from ingest.connection import ChargerConnection
from warehouse.catalog import connect, query

log = logging.getLogger("chargeline.recovery")
S = 1_000_000_000
STEP_TIMEOUT_S = 30.0

_STUCK_SQL = f"""
select s.session_id, s.charge_point_id, s.protocol, s.connector_id, s.evse_id,
       s.transaction_id, epoch_ns(c.last_step_at) as last_step_at
from sessions s
left join (select session_id, max(requested_at) as last_step_at from commands
           where origin = '{CommandOrigin.recovery.value}' group by session_id) c
  using (session_id)
where s.status = '{SessionStatus.stuck.value}'
  and not list_contains(s.flags, '{SessionFlag.start_refused.value}')
order by s.session_id
"""


@dataclass(frozen=True, slots=True)
class StuckSession:
    """A stuck session as the warehouse has it, with its last recovery step (UTC ns)."""

    session_id: str
    charge_point_id: str
    protocol: str
    connector_id: int | None
    evse_id: int | None
    transaction_id: str | None
    last_step_at: int | None = None


def playbook(s: StuckSession) -> list[tuple[RecoveryStep, str, dict[str, Any]]]:
    """(step, action, payload) in order, for the session's protocol; [] when it lacks what
    the steps need (a 1.6 session without connector, a 2.0.1 one without transaction)."""
    if Protocol(s.protocol).ocpp2:
        if s.transaction_id is None or s.evse_id is None:
            return []
        evse = {"id": s.evse_id} | ({"connectorId": s.connector_id} if s.connector_id else {})
        return [(RecoveryStep.get_transaction_status, "GetTransactionStatus",
                 {"transactionId": s.transaction_id}),
                (RecoveryStep.trigger_status, "TriggerMessage",
                 {"requestedMessage": "StatusNotification", "evse": evse})]
    if s.connector_id is None:
        return []
    return [(RecoveryStep.trigger_status, "TriggerMessage",
             {"requestedMessage": "StatusNotification", "connectorId": s.connector_id}),
            (RecoveryStep.trigger_meter_values, "TriggerMessage",
             {"requestedMessage": "MeterValues", "connectorId": s.connector_id})]


@dataclass
class RecoveryAgent:
    """Sends the playbook's steps through ``desk``; ``run`` until cancelled."""

    data_dir: Path
    desk: CommandDesk
    live: Mapping[str, ChargerConnection]
    policy: RecoveryPolicy
    poll_s: float = 15.0
    retry_s: float = 3600.0
    clock: Callable[[], int] = time.time_ns
    #: session id → (connection id, UTC ns) of the last playbook run in this process
    taken: dict[str, tuple[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.policy == RecoveryPolicy.off:
            raise ValueError("a recovery agent with policy 'off' has nothing to do")
        if not self.poll_s > 0:
            raise ValueError(f"poll_s must be > 0, got {self.poll_s}")

    async def run(self) -> None:
        await every(self.poll_s, self.tick, log, "recovery: stuck sessions not readable now")

    async def tick(self) -> list[CommandRecord]:
        """One round: the playbook for every stuck session due; the records of its steps."""
        records: list[CommandRecord] = []
        for session in await asyncio.to_thread(self.stuck_sessions):
            if self.due(session):
                records += await self.recover(session)
        return records

    def stuck_sessions(self) -> list[StuckSession]:
        con = connect(self.data_dir)
        try:
            rows = query(con, self.data_dir, _STUCK_SQL).to_pylist()
        finally:
            con.close()
        return [StuckSession(**row) for row in rows]

    def due(self, s: StuckSession) -> bool:
        """Its charger connected, on another connection than the last run here, and an hour
        (``retry_s``) after the last step journaled for it."""
        conn = self.live.get(s.charge_point_id)
        if conn is None:
            return False
        now, wait = self.clock(), int(self.retry_s * S)
        last = self.taken.get(s.session_id)
        if last is not None and (last[0] == conn.connection_id or now - last[1] < wait):
            return False
        return s.last_step_at is None or now - s.last_step_at >= wait

    async def recover(self, s: StuckSession) -> list[CommandRecord]:
        conn = self.live.get(s.charge_point_id)
        self.taken[s.session_id] = (conn.connection_id if conn else "", self.clock())
        records = []
        for step, action, payload in playbook(s):
            records.append(await self.desk.send(CommandRequest(
                s.charge_point_id, action, payload, STEP_TIMEOUT_S, CommandOrigin.recovery,
                requested_by="recovery", session_id=s.session_id,
                transaction_id=s.transaction_id, step=step.value,
                observe_only=self.policy == RecoveryPolicy.observe,
                protocol=Protocol(s.protocol))))
        log.info("recovery (%s): %s %s", self.policy.value, s.session_id,
                 [(r.step, r.outcome, r.status) for r in records])
        return records
