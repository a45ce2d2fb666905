"""Admission and connection life: subprotocols, newest-wins, dead peers, lifecycle records."""

from __future__ import annotations

import asyncio
import base64
import socket
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from canonical.enums import RecordKind
from tests.ingest.conftest import journal_records, running_server

HEARTBEAT = '[2,"hb","Heartbeat",{}]'


@pytest.mark.parametrize("offered, chosen, header", [
    (["ocpp1.6", "ocpp2.0.1"], "ocpp2.0.1", "ocpp2.0.1"),
    (["ocpp1.6"], "ocpp1.6", "ocpp1.6"),
    (None, "ocpp1.6", None),  # Q25: no Sec-WebSocket-Protocol at all
])
def test_subprotocol_negotiation(tmp_path: Path, run: Any, offered: list[str] | None,
                                 chosen: str, header: str | None) -> None:
    async def scenario() -> str | None:
        async with running_server(tmp_path) as cs, websockets.connect(
                f"ws://127.0.0.1:{cs.port}/CP-P", subprotocols=offered) as ws:
            await ws.send(HEARTBEAT)
            await ws.recv()
            return ws.subprotocol

    assert run(scenario()) == header
    connected = journal_records(tmp_path, RecordKind.connected)[0]
    assert (connected.charge_point_id, connected.protocol) == ("CP-P", chosen)


@pytest.mark.parametrize("path, offered, status", [
    ("/ocpp/CP-1", ["ocpp1.5"], 400),
    ("/ocpp/..%2Fetc", ["ocpp1.6"], 400),
    ("/ocpp/" + "A" * 49, ["ocpp1.6"], 400),
    ("/ocpp/a/b", ["ocpp1.6"], 404),
])
def test_refused_with_a_clear_http_answer_and_recorded(tmp_path: Path, run: Any, path: str,
                                                       offered: list[str], status: int) -> None:
    async def scenario() -> int:
        async with running_server(tmp_path) as cs:
            with pytest.raises(InvalidStatus) as info:
                async with websockets.connect(f"ws://127.0.0.1:{cs.port}{path}", subprotocols=offered):
                    pass
            return info.value.response.status_code

    assert run(scenario()) == status
    assert orjson.loads(journal_records(tmp_path, RecordKind.refused)[0].raw)["status"] == status


def test_newest_connection_wins(tmp_path: Path, run: Any) -> None:
    async def scenario() -> tuple[int | None, str, Any]:
        async with running_server(tmp_path) as cs:
            url = f"ws://127.0.0.1:{cs.port}/ocpp/CP-N"
            old = await websockets.connect(url, subprotocols=["ocpp1.6"])
            async with websockets.connect(url, subprotocols=["ocpp1.6"]) as new:
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(old.recv(), 5)
                await new.send(HEARTBEAT)
                answer = orjson.loads(await new.recv())
                return old.close_code, old.close_reason or "", answer

    code, reason, answer = run(scenario())
    assert (code, reason) == (1000, "replaced by a newer connection")
    assert answer[0] == 3
    replaced = journal_records(tmp_path, RecordKind.replaced)
    assert len(replaced) == 1 and len(journal_records(tmp_path, RecordKind.connected)) == 2


def test_dead_peer_is_found_by_ping(tmp_path: Path, run: Any) -> None:
    async def scenario() -> None:
        async with running_server(tmp_path, ping_interval_s=0.2, ping_timeout_s=0.2) as cs:
            sock = socket.create_connection(("127.0.0.1", cs.port))
            key = base64.b64encode(b"0123456789abcdef").decode()
            sock.sendall((f"GET /ocpp/CP-D HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n").encode())
            await asyncio.sleep(0.1)
            assert b"101" in sock.recv(4096)
            for _ in range(50):  # the peer never answers pings
                if journal_records(tmp_path, RecordKind.disconnected):
                    break
                await asyncio.sleep(0.1)
            sock.close()

    run(scenario())
    closed = orjson.loads(journal_records(tmp_path, RecordKind.disconnected)[0].raw)
    assert closed["code"] in (1006, 1011)
