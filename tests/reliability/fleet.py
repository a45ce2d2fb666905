"""Chargers that behave as firmware should after a lost link, and remember what was answered.

``sim/`` chargers give up on a dead connection (a CALL in flight waits out its 30 s timeout,
then the charger's run ends), so the crash tests use these: reconnect with back-off and resend
the CALL that got no answer — same message id, same content — until it is answered. Every
answered CALL is recorded, and every finished session is written to a truth list in the
format ``chargeline score`` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

V16, V201 = "ocpp1.6", "ocpp2.0.1"
SAMPLES = 4


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class RetryingCharger:
    """One charge point; ``call`` returns only once the central system answered with a
    CALLRESULT (a CALLERROR such as InternalError is retried too)."""

    url: str
    charge_point_id: str
    protocol: str
    seed: int
    answered: list[tuple[str, str]] = field(default_factory=list)  # (message id, action)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    starts: dict[str, set[int]] = field(default_factory=dict)  # start payload -> tx ids got
    resent: int = 0
    reconnects: list[float] = field(default_factory=list)  # seconds without a link, each time

    def __post_init__(self) -> None:
        self.ws: ClientConnection | None = None
        self.ids = itertools.count(1)
        self.rng = random.Random(self.seed)
        self.register_wh = self.rng.randrange(10_000, 900_000)
        self.lost_at: float | None = None

    async def _link(self) -> ClientConnection:
        while self.ws is None:
            try:
                self.ws = await websockets.connect(
                    f"{self.url}/{self.charge_point_id}", subprotocols=[self.protocol],  # type: ignore[list-item]
                    open_timeout=5, ping_interval=None, close_timeout=0.5)
            except (OSError, TimeoutError, InvalidHandshake):
                await asyncio.sleep(self.rng.uniform(0.05, 0.3))
        if self.lost_at is not None:
            self.reconnects.append(time.monotonic() - self.lost_at)
            self.lost_at = None
        return self.ws

    def _drop(self) -> None:
        if self.ws is not None:
            self.ws.transport.abort()
        self.ws, self.lost_at = None, self.lost_at or time.monotonic()

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        message_id = f"{self.charge_point_id}-{next(self.ids)}"
        frame = orjson.dumps([2, message_id, action, payload]).decode()
        for attempt in itertools.count():
            self.resent += attempt > 0
            ws = await self._link()
            try:
                await ws.send(frame)
                answer = await asyncio.wait_for(self._answer(ws, message_id), 10)
            except (ConnectionClosed, OSError, TimeoutError):
                self._drop()
                continue
            if answer[0] == 3:
                self.answered.append((message_id, action))
                return answer[2]  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)  # e.g. InternalError: the server could not store it
        raise AssertionError("unreachable")

    async def _answer(self, ws: ClientConnection, message_id: str) -> list[Any]:
        while True:
            message = orjson.loads(await ws.recv())
            if message[0] == 2:
                await ws.send(orjson.dumps([3, message[1], {"status": "Accepted"}]).decode())
            elif message[1] == message_id:
                return message  # type: ignore[no-any-return]

    async def run(self, stop: asyncio.Event, pace_s: float) -> None:
        """Boot, then whole sessions until ``stop`` is set (the one under way is finished)."""
        await self.boot()
        for number in itertools.count(1):
            if stop.is_set():
                break
            await self.session(number, pace_s)
            await self.call("Heartbeat", {})
        with contextlib.suppress(Exception):
            if self.ws is not None:
                await self.ws.close()

    async def boot(self) -> None:
        if self.protocol == V16:
            await self.call("BootNotification", {"chargePointVendor": "Reliability",
                                                 "chargePointModel": "R-16"})
            await self.call("StatusNotification", {"connectorId": 1, "status": "Available",
                                                   "errorCode": "NoError", "timestamp": stamp()})
        else:
            await self.call("BootNotification", {"reason": "PowerUp", "chargingStation": {
                "vendorName": "Reliability", "model": "R-201"}})
            await self.call("StatusNotification", {"timestamp": stamp(), "evseId": 1,
                                                   "connectorId": 1, "connectorStatus": "Available"})

    async def session(self, number: int, pace_s: float) -> None:
        # Sessions last a fraction of a second here (crash tests, not physics): kept under
        # FlowConfig.plausible_min_wh (500 Wh) so the physics check has nothing to judge.
        steps = [self.rng.randrange(10, 80) for _ in range(SAMPLES)]
        if self.protocol == V16:
            tx, energy = await self._session_16(number, steps, pace_s)
        else:
            tx, energy = await self._session_201(number, steps, pace_s)
        self.sessions.append({"type": "session", "charge_point_id": self.charge_point_id,
                              "transaction_id": tx, "energy_wh": float(energy)})

    async def _session_16(self, number: int, steps: list[int], pace_s: float) -> tuple[str, int]:
        tag = f"TAG{self.seed % 1000:03d}{number}"
        await self.call("Authorize", {"idTag": tag})
        start = {"connectorId": 1, "idTag": tag, "meterStart": self.register_wh,
                 "timestamp": stamp()}
        tx = int((await self.call("StartTransaction", start))["transactionId"])
        self.starts.setdefault(orjson.dumps(start).decode(), set()).add(tx)
        begin = self.register_wh
        for step in steps:
            await asyncio.sleep(pace_s)
            self.register_wh += step
            await self.call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [{
                "timestamp": stamp(), "sampledValue": [{
                    "value": str(self.register_wh), "unit": "Wh", "context": "Sample.Periodic",
                    "measurand": "Energy.Active.Import.Register"}]}]})
        await self.call("StopTransaction", {"transactionId": tx, "meterStop": self.register_wh,
                                            "timestamp": stamp(), "reason": "EVDisconnected",
                                            "idTag": tag})
        return str(tx), self.register_wh - begin

    async def _session_201(self, number: int, steps: list[int],
                           pace_s: float) -> tuple[str, int]:
        tx, begin = f"{self.charge_point_id}-T{number}", self.register_wh
        await self.call("TransactionEvent", self._event("Started", tx, 0, "Transaction.Begin", {
            "idToken": {"idToken": f"TAG{number}", "type": "ISO14443"}}))
        for seq, step in enumerate(steps, start=1):
            await asyncio.sleep(pace_s)
            self.register_wh += step
            await self.call("TransactionEvent", self._event("Updated", tx, seq, "Sample.Periodic"))
        await self.call("TransactionEvent", self._event("Ended", tx, len(steps) + 1,
                                                        "Transaction.End"))
        return tx, self.register_wh - begin

    def _event(self, kind: str, tx: str, seq: int, context: str,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
        now = stamp()
        return {"eventType": kind, "timestamp": now, "seqNo": seq,
                "triggerReason": {"Started": "Authorized", "Updated": "MeterValuePeriodic"}.get(
                    kind, "EVCommunicationLost"),
                "transactionInfo": {"transactionId": tx, "chargingState": "Charging"},
                "evse": {"id": 1, "connectorId": 1},
                "meterValue": [{"timestamp": now, "sampledValue": [{
                    "value": self.register_wh, "context": context,
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "Wh"}}]}], **(extra or {})}


def make_fleet(url: str, chargers: int, seed: int = 1) -> list[RetryingCharger]:
    """Half 1.6J, half 2.0.1; ids ``R16-000`` / ``R201-001`` ..."""
    fleet = []
    for n in range(chargers):
        protocol = V16 if n % 2 == 0 else V201
        prefix = "R16" if protocol == V16 else "R201"
        fleet.append(RetryingCharger(url, f"{prefix}-{n:03d}", protocol, seed * 1000 + n))
    return fleet
