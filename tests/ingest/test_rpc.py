"""OCPP-J RPC framework errors: the right CALLERROR, the connection stays up, all journaled."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets

from canonical.enums import ParseStatus
from tests.ingest.conftest import journal_frames, running_server

HEARTBEAT = '[2,"hb","Heartbeat",{}]'
BIG = '[2,"big","DataTransfer",{"vendorId":"x","data":"' + "x" * (1024 * 1024 + 10) + '"}]'


async def exchange(port: int, frames: list[str | bytes], protocol: str) -> list[Any]:
    """Send each frame, collect its answer, then prove the connection still works."""
    answers = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/CP-X", subprotocols=[protocol],
                                  max_size=None) as ws:
        for frame in [*frames, HEARTBEAT]:
            await ws.send(frame)
            answers.append(orjson.loads(await ws.recv()))
    return answers


CASES = [
    ("not json", "garbage{", "-1", "FormationViolation", "RpcFrameworkError", ParseStatus.invalid_json),
    ("truncated json keeps id", '[2,"abc","Heartbeat",{', "abc", "FormationViolation", "RpcFrameworkError", ParseStatus.invalid_json),
    ("not an array", '{"a":1}', "-1", "FormationViolation", "RpcFrameworkError", ParseStatus.bad_shape),
    ("unknown message type", '[7,"m7","Heartbeat",{}]', "m7", "NotSupported", "MessageTypeNotSupported", ParseStatus.bad_shape),
    ("payload not an object", '[2,"p","Heartbeat",[]]', "p", "FormationViolation", "FormatViolation", ParseStatus.bad_shape),
    ("unknown action", '[2,"u","FlyToTheMoon",{}]', "u", "NotImplemented", "NotImplemented", ParseStatus.unknown_action),
    ("oversized frame", BIG, "big", "FormationViolation", "FormatViolation", ParseStatus.too_large),
    ("invalid utf-8", b'[2,"bad","Heartbeat",{"x":"\xff\xfe"}]', "bad", "FormationViolation", "RpcFrameworkError", ParseStatus.invalid_utf8),
]


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
@pytest.mark.parametrize("name, frame, mid, code16, code201, status", CASES, ids=[c[0] for c in CASES])
def test_rpc_error_answer_and_connection_survives(tmp_path: Path, run: Any, protocol: str, name: str,
                                                 frame: str | bytes, mid: str, code16: str,
                                                 code201: str, status: ParseStatus) -> None:
    async def scenario() -> list[Any]:
        async with running_server(tmp_path) as cs:
            return await exchange(cs.port, [frame], protocol)

    error, heartbeat = run(scenario())
    code = code16 if protocol == "ocpp1.6" else code201
    assert error[:3] == [4, mid, code]
    assert heartbeat[0] == 3 and "currentTime" in heartbeat[2]
    inbound = [f for f in journal_frames(tmp_path) if f.direction == "in"]
    assert inbound[0].parse_status == status
    assert inbound[1].action == "Heartbeat"
    if status != ParseStatus.too_large:
        expected = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        assert inbound[0].raw == expected


def test_result_for_a_call_never_made_is_journaled_not_answered(tmp_path: Path, run: Any) -> None:
    async def scenario() -> Any:
        async with running_server(tmp_path) as cs, websockets.connect(
                f"ws://127.0.0.1:{cs.port}/ocpp/CP-R", subprotocols=["ocpp1.6"]) as ws:
            await ws.send('[3,"never-sent",{"status":"Accepted"}]')
            await ws.send(HEARTBEAT)
            return orjson.loads(await ws.recv())

    answer = run(scenario())
    assert answer[1] == "hb"
    stray = journal_frames(tmp_path)[0]
    assert (stray.message_type, stray.parse_status) == (3, ParseStatus.unmatched_result)


def test_server_call_is_paired_with_the_chargers_answer(tmp_path: Path, run: Any) -> None:
    async def charger(ws: Any) -> None:
        call = orjson.loads(await ws.recv())
        await ws.send(orjson.dumps([3, call[1], {"status": "Accepted"}]).decode())

    async def scenario() -> Any:
        async with running_server(tmp_path) as cs, websockets.connect(
                f"ws://127.0.0.1:{cs.port}/ocpp/CP-C", subprotocols=["ocpp1.6"]) as ws:
            reader = asyncio.create_task(charger(ws))
            while "CP-C" not in cs.live:
                await asyncio.sleep(0.01)
            answer = await cs.live["CP-C"].call("TriggerMessage", {"requestedMessage": "Heartbeat"})
            await reader
            return answer

    assert run(scenario()).payload == {"status": "Accepted"}
    out_call, in_result = journal_frames(tmp_path)
    assert (out_call.direction, out_call.action) == ("out", "TriggerMessage")
    assert (in_result.action, in_result.parse_status) == ("TriggerMessage", "ok")
