"""One simulated charger's OCPP-J connection: plain ``websockets`` with orjson framing (the
``ocpp`` library's per-message validation would cap a 1,000-charger fleet on one core)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection


class Wire:
    """A connected charger: ``call`` sends a CALL and returns the CALLRESULT payload."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Future[Any]] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str, protocol: str) -> Wire:
        ws = await websockets.connect(url, subprotocols=[protocol],  # type: ignore[list-item]
                                      open_timeout=30, ping_interval=None,
                                      compression=None, max_size=2**20)
        return cls(ws)

    async def call(self, action: str, payload: dict[str, Any], timeout: float = 30) -> Any:
        message_id = f"{next(self.ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = future
        await self.ws.send(orjson.dumps([2, message_id, action, payload]).decode())
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self.waiting.pop(message_id, None)

    async def _read(self) -> None:
        async for raw in self.ws:
            message = orjson.loads(raw)
            if message[0] == 2:  # the CSMS calls us: accept
                await self.ws.send(orjson.dumps([3, message[1], {"status": "Accepted"}]).decode())
                continue
            future = self.waiting.get(message[1])
            if future is not None and not future.done():
                future.set_result(message[2] if message[0] == 3 else None)

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()
