"""Real servers on 127.0.0.1 and recording WebSocket clients for the ingest tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from canonical import RawFrame
from canonical.enums import RecordKind
from ingest.config import ServerConfig
from ingest.journal import JournalReader
from ingest.server import CentralSystem
from tests.broker import broker  # noqa: F401  (the Kafka tests' broker fixture)


class RecordingConnection:
    """Wraps a client connection and records every text sent and received, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.log: list[tuple[str, str]] = []

    async def send(self, message: str) -> None:
        self.log.append(("in", message))
        await self.ws.send(message)

    async def recv(self) -> str | bytes:
        message = await self.ws.recv()
        self.log.append(("out", message if isinstance(message, str) else message.decode()))
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ws, name)


@contextlib.asynccontextmanager
async def running_server(data_dir: Path, **options: Any) -> AsyncIterator[CentralSystem]:
    options.setdefault("port", 0)
    cs = CentralSystem(ServerConfig(data_dir=data_dir, **options))
    await cs.start()
    try:
        yield cs
    finally:
        await cs.stop()


@contextlib.asynccontextmanager
async def ocpp_client(cls: type, cs: CentralSystem, cp_id: str, protocol: str,
                      **connect: Any) -> AsyncIterator[tuple[Any, RecordingConnection]]:
    """An ``ocpp`` library ChargePoint connected to ``cs``, with its frames recorded."""
    scheme = "wss" if connect.get("ssl") else "ws"
    url = f"{scheme}://127.0.0.1:{cs.port}/ocpp/{cp_id}"
    async with websockets.connect(url, subprotocols=[protocol], **connect) as ws:
        rec = RecordingConnection(ws)
        cp = cls(cp_id, rec)
        task = asyncio.create_task(cp.start())
        try:
            yield cp, rec
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def journal_frames(data_dir: Path, cp_id: str | None = None) -> list[RawFrame]:
    frames = [f for f in JournalReader(data_dir).frames() if f.record_kind == RecordKind.frame]
    return [f for f in frames if cp_id is None or f.charge_point_id == cp_id]


def journal_records(data_dir: Path, kind: RecordKind) -> list[RawFrame]:
    return [f for f in JournalReader(data_dir).frames() if f.record_kind == kind]


@pytest.fixture
def run() -> Callable[[Any], Any]:
    """Run one coroutine to completion in a fresh event loop."""
    return asyncio.run
