"""A tiny central system for the command tests: a real ``websockets`` server on 127.0.0.1
that answers chargers' CALLs minimally, records every CALL they send (with the connection it
came on), sends them CSMS-initiated CALLs, and checks the answers against the ``ocpp``
library's JSON schemas. Plus a small HTTP server taking PUT uploads."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import ocpp
import orjson
from websockets.asyncio.server import ServerConnection, serve

from sim.charger import SimCharger
from sim.depot import FileDepot
from sim.plan import VENDORS, ChargerPlan, SessionPlan
from sim.truth import Truth

V16, V201 = "ocpp1.6", "ocpp2.0.1"
SCHEMAS = Path(ocpp.__file__).parent
VENDOR = {V16: VENDORS[1], V201: VENDORS[9]}  # Alfen, a plain 2.0.1 station


@cache
def _validator(protocol: str, action: str) -> Callable[[Any], Any]:
    folder = SCHEMAS / ("v16" if protocol == V16 else "v201") / "schemas"
    return fastjsonschema.compile(json.loads((folder / f"{action}Response.json").read_text()))


def check_schema(protocol: str, action: str, payload: dict[str, Any]) -> None:
    """Raises ``fastjsonschema.JsonSchemaException`` when ``payload`` breaks the schema."""
    _validator(protocol, action)(payload)


@dataclass
class Seen:
    connection: int
    action: str
    payload: dict[str, Any]


@dataclass
class Csms:
    """Chargers by id: what they sent, and their current socket."""

    port: int = 0
    seen: dict[str, list[Seen]] = field(default_factory=dict)
    sockets: dict[str, ServerConnection] = field(default_factory=dict)
    connections: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, asyncio.Future[list[Any]]] = field(default_factory=dict)
    news: asyncio.Event = field(default_factory=asyncio.Event)
    tx_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(101))
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    given: list[int] = field(default_factory=list)   # 1.6 transactionIds answered, in order

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def handler(self, ws: ServerConnection) -> None:
        cp = (ws.request.path if ws.request else "").rsplit("/", 1)[-1]
        self.sockets[cp] = ws
        self.connections[cp] = connection = self.connections.get(cp, 0) + 1
        async for raw in ws:
            message = orjson.loads(raw)
            if message[0] == 2:
                self.seen.setdefault(cp, []).append(Seen(connection, message[2], message[3]))
                self.news.set()
                await ws.send(orjson.dumps([3, message[1], self._answer(message[2])]).decode())
            elif (future := self.waiting.pop(message[1], None)) is not None:
                future.set_result(message)

    def _answer(self, action: str) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        if action == "StartTransaction":
            self.given.append(next(self.tx_ids))
            return {"transactionId": self.given[-1], "idTagInfo": {"status": "Accepted"}}
        return {"BootNotification": {"currentTime": now, "interval": 3600,
                                     "status": "Accepted"},
                "Heartbeat": {"currentTime": now},
                "Authorize": {"idTagInfo": {"status": "Accepted"}},
                }.get(action, {})

    async def send(self, cp: str, action: str, payload: dict[str, Any]) -> list[Any]:
        """Send a CALL; the charger's whole answer frame ([3, id, payload] or [4, ...])."""
        message_id = f"csms-{next(self.ids)}"
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = future
        await self.sockets[cp].send(orjson.dumps([2, message_id, action, payload]).decode())
        return await asyncio.wait_for(future, 10)

    async def ask(self, c: SimCharger, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send a CALL, expect a CALLRESULT valid by the schema; its payload."""
        answer = await self.send(c.plan.charge_point_id, action, payload)
        assert answer[0] == 3, answer
        check_schema(c.p.protocol, action, answer[2])
        result: dict[str, Any] = answer[2]
        return result

    def mark(self, c: SimCharger) -> int:
        """Where what the charger sends from now on starts."""
        return len(self.seen.get(c.plan.charge_point_id, []))

    def since(self, c: SimCharger, mark: int, action: str | None = None) -> list[Seen]:
        rows = self.seen.get(c.plan.charge_point_id, [])[mark:]
        return [s for s in rows if action is None or s.action == action]

    async def expect(self, c: SimCharger, mark: int, action: str,
                     where: Callable[[dict[str, Any]], bool] = lambda _p: True,
                     timeout: float = 10.0) -> Seen:
        """The first ``action`` sent since ``mark`` that ``where`` accepts (waits for it)."""
        deadline = time.monotonic() + timeout
        while True:
            for s in self.since(c, mark, action):
                if where(s.payload):
                    return s
            left = deadline - time.monotonic()
            assert left > 0, f"no {action} from {c.plan.charge_point_id}"
            self.news.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.news.wait(), min(left, 0.5))


@asynccontextmanager
async def csms() -> AsyncIterator[Csms]:
    central = Csms()
    async with serve(central.handler, "127.0.0.1", 0, subprotocols=[V16, V201],  # type: ignore[list-item]
                     compression=None) as server:
        central.port = server.sockets[0].getsockname()[1]
        yield central


def charger(central: Csms, protocol: str, name: str, truth: Truth, speed: float = 1000.0,
            traits: tuple[str, ...] = (), sessions: list[SessionPlan] | None = None,
            fault: str | None = None) -> SimCharger:
    """A charger of ``protocol`` (not connected). Without ``sessions``, one never reached
    whose car (50 kW) is the one a remote start finds."""
    later = [SessionPlan(10**9, 1200.0, 16_000.0, 50_000.0, "TAG000001")]
    plan = ChargerPlan(f"CMD-{name}", VENDOR[protocol], 4242, (), sessions or later, fault,
                       traits=traits)
    return SimCharger(plan, central.url, speed, truth, time.time_ns())


# -- uploads ------------------------------------------------------------------------------
Uploads = FileDepot  # PUT bodies kept by path; GET a firmware image
