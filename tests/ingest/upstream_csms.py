"""An upstream central system nobody here wrote: the ``ocpp`` library's central-system side
(``ocpp.v16.ChargePoint`` serving a connection), on 127.0.0.1, for the proxy tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call_result as result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus

TX_ID = 4242


class UpstreamSide(ChargePoint):
    """What the upstream answers each charger; ``slow`` delays its Heartbeat answers."""

    slow_s = 0.0
    heard: list[str]  # the message ids of the CALLs it received, in order

    async def route_message(self, raw_msg: str | bytes) -> None:
        import orjson

        message = orjson.loads(raw_msg)
        if isinstance(message, list) and message[:1] == [2]:
            self.heard.append(message[1])
        await super().route_message(raw_msg)  # type: ignore[arg-type]

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> result.BootNotification:
        return result.BootNotification(current_time=datetime.now(UTC).isoformat(),
                                       interval=300, status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> result.Heartbeat:
        await asyncio.sleep(self.slow_s)
        return result.Heartbeat(current_time=datetime.now(UTC).isoformat())

    @on(Action.status_notification)
    def on_status(self, **_: Any) -> result.StatusNotification:
        return result.StatusNotification()

    @on(Action.start_transaction)
    def on_start(self, **_: Any) -> result.StartTransaction:
        return result.StartTransaction(transaction_id=TX_ID, id_tag_info={
            "status": AuthorizationStatus.accepted})

    @on(Action.meter_values)
    def on_meter(self, **_: Any) -> result.MeterValues:
        return result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop(self, **_: Any) -> result.StopTransaction:
        return result.StopTransaction()


@dataclass
class Upstream:
    port: int = 0
    protocols: tuple[str, ...] = ("ocpp1.6",)  # what it accepts; its side is picked by version
    sides: dict[str, type] = field(default_factory=dict)  # subprotocol → ChargePoint class
    password: str | None = None  # Basic auth it expects (user: the charge point id)
    slow: set[str] = field(default_factory=set)
    chargers: dict[str, UpstreamSide] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    auth_seen: list[str | None] = field(default_factory=list)
    server: Any = None

    async def handler(self, ws: Any) -> None:
        path = ws.request.path
        self.paths.append(path)
        cp = self.sides.get(ws.subprotocol, UpstreamSide)(path.rsplit("/", 1)[-1], ws)
        cp.slow_s = 2.0 if cp.id in self.slow else 0.0
        cp.heard = []
        self.chargers[cp.id] = cp
        with contextlib.suppress(websockets.ConnectionClosed):
            await cp.start()

    def process_request(self, ws: Any, request: Any) -> Any:
        header = request.headers.get("Authorization")
        self.auth_seen.append(header)
        if self.password is None:
            return None
        import base64

        cp_id = request.path.rsplit("/", 1)[-1]
        expected = "Basic " + base64.b64encode(f"{cp_id}:{self.password}".encode()).decode()
        if header != expected:
            from http import HTTPStatus

            return ws.respond(HTTPStatus.UNAUTHORIZED, "upstream says no\n")
        return None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/steve/websocket/CentralSystemService"


@contextlib.asynccontextmanager
async def upstream_csms(**options: Any) -> AsyncIterator[Upstream]:
    up = Upstream(**options)
    up.server = await websockets.serve(up.handler, "127.0.0.1", up.port,
                                       subprotocols=list(up.protocols),  # type: ignore[arg-type]
                                       process_request=up.process_request)
    up.port = next(iter(up.server.sockets)).getsockname()[1]
    try:
        yield up
    finally:
        up.server.close()
        await up.server.wait_closed()
