"""Stuck-session recovery end to end over real wire: a real ``CentralSystem`` with the agent
in ``act`` mode, a real ``chargeline flow`` process, and scripted 1.6 chargers on real
WebSockets — one that lost its transaction (answers the TriggerMessage, then says
``Available``), one that was only silent (answers ``Charging`` and a reading, then stops)."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import websockets

from canonical.commands import CommandOrigin, RecoveryStep
from canonical.enums import HOLDS_BILLING, RecoveryPolicy
from chargeline.recovery import RecoveryAgent, StuckSession, playbook
from ingest.server import CentralSystem
from tests.ingest.conftest import running_server
from warehouse.catalog import connect, query

STUCK_AFTER_S = 3.0


class Scripted:
    """A 1.6 charger: sends CALLs and waits for their answers; ``on_trigger`` plays its
    answer to a TriggerMessage."""

    def __init__(self, ws: Any, on_trigger: Callable[[Scripted, str], Awaitable[None]]) -> None:
        self.ws, self.on_trigger = ws, on_trigger
        self.ids = itertools.count()
        self.waiting: dict[str, asyncio.Future[Any]] = {}
        self.triggers: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.tx: int = 0

    def spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        mid = f"c{next(self.ids)}"
        answer = self.waiting[mid] = asyncio.get_running_loop().create_future()
        await self.ws.send(orjson.dumps([2, mid, action, payload]).decode())
        return await asyncio.wait_for(answer, 10)

    async def serve(self) -> None:
        async for raw in self.ws:
            message = orjson.loads(raw)
            if message[0] == 3 and message[1] in self.waiting:
                self.waiting.pop(message[1]).set_result(message[2])
            elif message[0] == 2:
                self.spawn(self._answer(message))

    async def _answer(self, call: list[Any]) -> None:
        accepted = call[2] == "TriggerMessage"
        await self.ws.send(orjson.dumps([3, call[1], {
            "status": "Accepted" if accepted else "Rejected"}]).decode())
        if accepted:
            self.triggers.append(call[3]["requestedMessage"])
            await self.on_trigger(self, call[3]["requestedMessage"])


async def lost(cp: Scripted, requested: str) -> None:
    """Rebooted and forgot the transaction: the connector is free, its meter idle."""
    if requested == "StatusNotification":
        await cp.call("StatusNotification", {"connectorId": 1, "status": "Available",
                                             "errorCode": "NoError"})
    elif requested == "MeterValues":
        await cp.call("MeterValues", {"connectorId": 1, "meterValue": [{
            "timestamp": "2026-12-01T10:30:00Z", "sampledValue": [{"value": "1500"}]}]})


async def silent(cp: Scripted, requested: str) -> None:
    """Still charging, only quiet: says so, with a reading of the transaction."""
    if requested == "StatusNotification":
        await cp.call("StatusNotification", {"connectorId": 1, "status": "Charging",
                                             "errorCode": "NoError"})
    elif requested == "MeterValues":
        await cp.call("MeterValues", {"connectorId": 1, "transactionId": cp.tx, "meterValue": [{
            "timestamp": "2026-12-01T10:30:00Z", "sampledValue": [{"value": "2600"}]}]})


async def charger(cs: CentralSystem, cp_id: str, behave: Any) -> Scripted:
    ws = await websockets.connect(f"ws://127.0.0.1:{cs.port}/ocpp/{cp_id}",
                                  subprotocols=["ocpp1.6"])  # type: ignore[list-item]
    cp = Scripted(ws, behave)
    cp.spawn(cp.serve())
    await cp.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    started = await cp.call("StartTransaction", {"connectorId": 1, "idTag": "T",
                                                 "meterStart": 1000,
                                                 "timestamp": "2026-12-01T10:00:00Z"})
    cp.tx = started["transactionId"]
    await cp.call("MeterValues", {"connectorId": 1, "transactionId": cp.tx, "meterValue": [{
        "timestamp": "2026-12-01T10:10:00Z", "sampledValue": [{"value": "1500"}]}]})
    return cp


def sessions(data_dir: Path) -> dict[str, dict[str, Any]]:
    con = connect(data_dir)
    try:
        rows = query(con, data_dir, "select * from sessions").to_pylist()
    finally:
        con.close()
    return {r["charge_point_id"]: r for r in rows}


def test_a_lost_transaction_closes_and_a_silent_one_recovers(tmp_path: Path) -> None:
    flow = subprocess.Popen([sys.executable, "-m", "chargeline", "flow", "--data-dir",
                             str(tmp_path), "--stuck-after", str(STUCK_AFTER_S),
                             "--recovery", "act", "--snapshot-interval", "1"],
                            stderr=subprocess.DEVNULL)

    async def scenario() -> tuple[dict[str, Any], list[Any], Scripted, Scripted]:
        async with running_server(tmp_path) as cs:
            assert cs.desk is not None
            agent = RecoveryAgent(tmp_path, cs.desk, cs.live, RecoveryPolicy.act, poll_s=0.5)
            task = asyncio.create_task(agent.run())
            gone, quiet = await charger(cs, "CP-LOST", lost), await charger(cs, "CP-QUIET", silent)
            for _ in range(120):  # both stuck, stepped through, decided by the flow
                await asyncio.sleep(0.5)
                now = await asyncio.to_thread(sessions, tmp_path)
                if {k: v["status"] for k, v in now.items()} == {
                        "CP-LOST": "completed", "CP-QUIET": "active"}:
                    break
            await quiet.call("StopTransaction", {"transactionId": quiet.tx, "meterStop": 3000,
                                                 "timestamp": "2026-12-01T11:00:00Z"})
            for _ in range(40):
                await asyncio.sleep(0.5)
                now = await asyncio.to_thread(sessions, tmp_path)
                if now["CP-QUIET"]["status"] == "completed":
                    break
            task.cancel()
            return now, list(cs.desk.recent), gone, quiet

    try:
        final, commands, gone, quiet = asyncio.run(scenario())
    finally:
        flow.terminate()
        flow.wait(30)
    closed, recovered = final["CP-LOST"], final["CP-QUIET"]
    assert (closed["status"], closed["energy_wh"], closed["energy_rule"]) == (
        "completed", 500.0, "recovery_last_reading")
    assert "closed_by_recovery" in closed["flags"] and HOLDS_BILLING.intersection(
        closed["flags"])
    assert (recovered["status"], recovered["energy_wh"]) == ("completed", 2000.0)
    assert "recovered_from_stuck" in recovered["flags"]
    assert "closed_by_recovery" not in recovered["flags"]
    assert gone.triggers == quiet.triggers == ["StatusNotification", "MeterValues"]
    steps = sorted((c.charge_point_id, c.step, c.outcome, c.status) for c in commands)
    assert steps == sorted(
        (cp, step.value, "answered", "Accepted") for cp in ("CP-LOST", "CP-QUIET")
        for step in (RecoveryStep.trigger_status, RecoveryStep.trigger_meter_values))
    assert {c.origin for c in commands} == {CommandOrigin.recovery}
    assert {c.session_id for c in commands} == {closed["session_id"], recovered["session_id"]}
    con = connect(tmp_path)
    journaled = query(con, tmp_path, "select session_id, step from commands where origin = "
                                     "'recovery'").to_pylist()
    timeline = query(con, tmp_path, "select session_id from session_timeline where "
                                    "event_type = 'command'").to_pylist()
    con.close()
    assert len(journaled) == len(timeline) == 4


class Conn:
    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id


def test_a_session_is_taken_once_per_connection_and_hour(tmp_path: Path) -> None:
    now = [10**18]
    live: dict[str, Any] = {}
    agent = RecoveryAgent(tmp_path, None, live, RecoveryPolicy.observe,  # type: ignore[arg-type]
                          clock=lambda: now[0])
    s = StuckSession("CP:1", "CP", "ocpp1.6", 1, None, "1")
    assert not agent.due(s), "offline: nothing to send"
    live["CP"] = Conn("a")
    assert agent.due(s)
    agent.taken["CP:1"] = ("a", now[0])
    now[0] += 2 * 3600 * 10**9
    assert not agent.due(s), "the same connection: once"
    live["CP"] = Conn("b")
    assert agent.due(s), "back on a new connection, an hour later"
    agent.taken["CP:1"] = ("a", now[0] - 60 * 10**9)
    assert not agent.due(s), "a new connection within the hour: not yet"
    restarted = RecoveryAgent(tmp_path, None, live, RecoveryPolicy.act,  # type: ignore[arg-type]
                              clock=lambda: now[0])
    journaled = StuckSession("CP:1", "CP", "ocpp1.6", 1, None, "1", now[0] - 60 * 10**9)
    assert not restarted.due(journaled), "a step journaled before a restart counts"


def test_playbooks() -> None:
    assert [p[1:] for p in playbook(StuckSession("CP:7", "CP", "ocpp1.6", 2, None, "7"))] == [
        ("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 2}),
        ("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 2})]
    for version in ("ocpp2.0.1", "ocpp2.1"):  # 2.1 takes 2.0.1's way (Protocol.ocpp2)
        assert [p[1:] for p in playbook(StuckSession("CP:t", "CP", version, 1, 3, "t"))] == [
            ("GetTransactionStatus", {"transactionId": "t"}),
            ("TriggerMessage", {"requestedMessage": "StatusNotification",
                                "evse": {"id": 3, "connectorId": 1}})], version
