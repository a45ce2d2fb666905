"""One simulated charger's OCPP-J connection: plain ``websockets`` with orjson framing (the
``ocpp`` library's per-message validation would cap a 1,000-charger fleet on one core).

A CALL from the central system goes to the charger's ``responder`` inside the read loop, as
a real charger answers it; the answer is sent first, then the follow-up messages the action
causes run as their own task (``spawn``), so the read loop is never blocked and can deliver
the answers those follow-ups wait for.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

#: The CALLERROR code for a payload that breaks the action's schema, per protocol.
FORMAT_VIOLATION = {"ocpp1.6": "FormationViolation", "ocpp2.0.1": "FormatViolation",
                    "ocpp2.1": "FormatViolation"}


@dataclass(frozen=True, slots=True)
class Reply:
    """The charger's answer to one CSMS CALL: a CALLRESULT ``payload``, or a CALLERROR when
    ``error`` (its code) is set; ``then`` makes the follow-up messages, sent after it."""

    payload: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    description: str = ""
    then: Callable[[], Coroutine[Any, Any, None]] | None = None
    unanswered: bool = False   # a charger gone mute (``no_heartbeat`` firmware): no answer


Responder = Callable[[str, dict[str, Any]], Reply]
Spawn = Callable[[Coroutine[Any, Any, None]], object]
_ACCEPT_ALL = Reply({"status": "Accepted"})


class Wire:
    """A connected charger: ``call`` sends a CALL and returns the CALLRESULT payload (None for
    a CALLERROR); raises ``ConnectionError`` when the socket closes under it."""

    def __init__(self, ws: ClientConnection, protocol: str = "ocpp1.6",
                 responder: Responder | None = None, spawn: Spawn | None = None) -> None:
        self.ws, self.protocol = ws, protocol
        self.responder = responder or (lambda _action, _payload: _ACCEPT_ALL)
        self.spawn: Spawn = spawn or asyncio.get_running_loop().create_task
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Future[Any]] = {}
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str, protocol: str, responder: Responder | None = None,
                   spawn: Spawn | None = None) -> Wire:
        ws = await websockets.connect(url, subprotocols=[protocol],  # type: ignore[list-item]
                                      open_timeout=30, ping_interval=None,
                                      compression=None, max_size=2**20)
        return cls(ws, protocol, responder, spawn)

    async def call(self, action: str, payload: dict[str, Any], timeout: float = 30) -> Any:
        message_id = f"{next(self.ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[message_id] = future
        try:
            await self.ws.send(orjson.dumps([2, message_id, action, payload]).decode())
            return await asyncio.wait_for(future, timeout)
        except ConnectionClosed as exc:
            raise ConnectionError(f"{action}: connection closed") from exc
        finally:
            self.waiting.pop(message_id, None)

    async def send(self, action: str, payload: dict[str, Any]) -> None:
        """An OCPP 2.1 SEND ``[6, id, action, payload]``: nothing comes back."""
        try:
            await self.ws.send(orjson.dumps([6, f"{next(self.ids)}", action, payload]).decode())
        except ConnectionClosed as exc:
            raise ConnectionError(f"{action}: connection closed") from exc

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = orjson.loads(raw)
                if message[0] == 2:
                    await self._answer(message)
                    continue
                future = self.waiting.get(message[1])
                if future is not None and not future.done():
                    future.set_result(message[2] if message[0] == 3 else None)
        finally:
            self._fail_waiting()

    async def _answer(self, message: list[Any]) -> None:
        """Answer a CALL ``[2, id, action, payload]``; a payload the responder cannot read
        (a missing or mistyped field) is a format violation, anything else an InternalError."""
        message_id = message[1]
        try:
            if len(message) != 4 or not isinstance(message[3], dict):
                raise TypeError(f"not a CALL: {message!r:.80}")
            reply = self.responder(message[2], message[3])
        except (KeyError, TypeError, ValueError) as exc:
            reply = Reply(error=FORMAT_VIOLATION[self.protocol], description=str(exc)[:200])
        except Exception as exc:
            reply = Reply(error="InternalError", description=repr(exc)[:200])
        if reply.unanswered:
            return
        frame = ([3, message_id, reply.payload] if reply.error is None
                 else [4, message_id, reply.error, reply.description, {}])
        await self.ws.send(orjson.dumps(frame).decode())
        if reply.then is not None:
            self.spawn(reply.then())

    def _fail_waiting(self) -> None:
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))

    @property
    def closed(self) -> bool:
        """The socket is gone (the server closed it, or the network)."""
        return self.reader.done()

    async def close(self) -> None:
        self.reader.cancel()
        self._fail_waiting()
        await self.ws.close()

