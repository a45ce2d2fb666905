"""An OCPP client nobody here wrote, against a real ``chargeline serve`` process.

The client is test-ocpp (PyPI, MIT, Morten Mathiasen): a connection tester that speaks OCPP 1.6
and 2.0.1 with nothing but ``websockets``. Its release 1.0.0 builds two messages itself,
BootNotification (``boot_payload``) and Heartbeat, and its public ``check_connection`` runs
exactly those. It has no builders for transaction messages, so for the transaction its own RPC
layer (``call``: uuid message ids, waits for the matching answer, raises ``CallError`` on a
CALLERROR, answers server CALLs with NotImplemented) carries payloads written here; every payload
sent and every answer received is checked against the OCA's JSON schemas as shipped in the
``ocpp`` package — files our server does not read.

What a user notices: the answers the charger got, and every frame in ``chargeline frames``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
import ocpp
import pytest
from test_ocpp import SUBPROTOCOLS, build_url, check_connection
from test_ocpp.client import boot_payload, call
from websockets.asyncio.client import connect

from canonical.raw import rfc3339_to_ns
from chargeline.ports import free_port, wait_port

VERSIONS = ["1.6", "2.0.1"]
SCHEMAS = Path(ocpp.__file__).parent
T0, T1, T2 = "2026-03-02T08:00:00Z", "2026-03-02T08:15:00Z", "2026-03-02T08:30:00Z"
TIMEOUT_S = 10


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``chargeline serve`` in its own process: (base URL, data dir); stopped with SIGTERM."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "chargeline", "serve", "--data-dir",
                             str(tmp_path), "--port", str(port)], stderr=subprocess.PIPE)
    try:
        wait_port(port)
        yield f"ws://127.0.0.1:{port}/ocpp", tmp_path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


@cache
def _validator(version: str, action: str, answer: bool) -> Callable[[Any], Any]:
    if version == "1.6":
        name = f"v16/schemas/{action}{'Response' if answer else ''}.json"
    else:
        name = f"v201/schemas/{action}{'Response' if answer else 'Request'}.json"
    schema = json.loads((SCHEMAS / name).read_text())
    schema.pop("$id", None)  # urn ids make fastjsonschema try to resolve refs remotely
    return fastjsonschema.compile(schema)


def exchange(version: str, ws: Any, log: list[str]) -> Callable[[str, dict[str, Any]], Any]:
    """test-ocpp's ``call`` on ``ws``, with the request and the answer schema-checked."""
    async def send(action: str, payload: dict[str, Any]) -> dict[str, Any]:
        _validator(version, action, False)(payload)
        answer: dict[str, Any] = await call(ws, action, payload, TIMEOUT_S, log.append)
        _validator(version, action, True)(answer)
        return answer
    return send


def logged_frames(log: list[str]) -> list[tuple[str, Any]]:
    """(direction, frame) of every message test-ocpp printed ("-->" sent, "<--" received)."""
    arrows = {"--> ": "in", "<-- ": "out"}
    return [(arrows[line[:4]], json.loads(line[4:])) for line in log if line[:4] in arrows]


def exported(data_dir: Path, cp_id: str) -> list[dict[str, Any]]:
    """What ``chargeline frames`` prints for one charge point, one dict a line."""
    out = subprocess.run([sys.executable, "-m", "chargeline", "frames", "--data-dir",
                          str(data_dir), "--charger", cp_id], check=True, capture_output=True)
    return [json.loads(line) for line in out.stdout.splitlines()]


def assert_journaled(data_dir: Path, cp_id: str, version: str, log: list[str]) -> None:
    lines = exported(data_dir, cp_id)
    assert [(line["direction"], line["frame"]) for line in lines] == logged_frames(log)
    assert {line["protocol"] for line in lines} == {SUBPROTOCOLS[version]}


def assert_utc_time(text: str) -> None:
    assert text.endswith("Z") and rfc3339_to_ns(text) > rfc3339_to_ns("2025-01-01T00:00:00Z")


@pytest.mark.parametrize("version", VERSIONS)
def test_connection_check_is_accepted_and_journaled(
        server: tuple[str, Path], version: str) -> None:
    url, data_dir = server
    cp_id = f"EXT-CHECK-{version}"
    log: list[str] = []
    result = asyncio.run(check_connection(url, cp_id, ocpp=version, vendor="Acme",
                                          model="AC22", timeout=TIMEOUT_S, log=log.append))
    assert result.subprotocol == SUBPROTOCOLS[version]
    assert result.boot_notification["status"] == "Accepted"
    assert result.boot_notification["interval"] > 0
    assert_utc_time(result.heartbeat["currentTime"])
    _validator(version, "BootNotification", True)(result.boot_notification)
    _validator(version, "Heartbeat", True)(result.heartbeat)
    assert len(logged_frames(log)) == 4
    assert_journaled(data_dir, cp_id, version, log)


async def session_v16(send: Callable[[str, dict[str, Any]], Any]) -> list[dict[str, Any]]:
    boot = await send("BootNotification", boot_payload("1.6", "Acme", "AC22"))
    beat = await send("Heartbeat", {})
    start = await send("StartTransaction", {"connectorId": 1, "idTag": "EXT-TAG",
                                            "meterStart": 10_000, "timestamp": T0})
    tx_id = start["transactionId"]
    meter = await send("MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [
        {"timestamp": T1, "sampledValue": [
            {"value": "12500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"}]}]})
    stop = await send("StopTransaction", {"transactionId": tx_id, "idTag": "EXT-TAG",
                                          "meterStop": 15_000, "timestamp": T2,
                                          "reason": "Local"})
    return [boot, beat, start, meter, stop]


async def session_v201(send: Callable[[str, dict[str, Any]], Any]) -> list[dict[str, Any]]:
    tx = {"transactionId": "EXT-TX-1"}
    token = {"idToken": "EXT-TAG", "type": "ISO14443"}

    def register(wh: float, context: str) -> list[dict[str, Any]]:
        return [{"timestamp": {"Transaction.Begin": T0, "Sample.Periodic": T1}.get(context, T2),
                 "sampledValue": [{"value": wh, "context": context,
                                   "measurand": "Energy.Active.Import.Register"}]}]

    boot = await send("BootNotification", boot_payload("2.0.1", "Acme", "AC22"))
    beat = await send("Heartbeat", {})
    started = await send("TransactionEvent", {
        "eventType": "Started", "timestamp": T0, "triggerReason": "Authorized", "seqNo": 0,
        "transactionInfo": tx, "idToken": token, "evse": {"id": 1, "connectorId": 1},
        "meterValue": register(10_000, "Transaction.Begin")})
    updated = await send("TransactionEvent", {
        "eventType": "Updated", "timestamp": T1, "triggerReason": "MeterValuePeriodic",
        "seqNo": 1, "transactionInfo": {**tx, "chargingState": "Charging"},
        "meterValue": register(12_500, "Sample.Periodic")})
    ended = await send("TransactionEvent", {
        "eventType": "Ended", "timestamp": T2, "triggerReason": "StopAuthorized", "seqNo": 2,
        "transactionInfo": {**tx, "stoppedReason": "Local"}, "idToken": token,
        "meterValue": register(15_000, "Transaction.End")})
    return [boot, beat, started, updated, ended]


@pytest.mark.parametrize("version", VERSIONS)
def test_transaction_is_answered_and_every_frame_journaled(
        server: tuple[str, Path], version: str) -> None:
    url, data_dir = server
    cp_id = f"EXT-TX-{version}"
    log: list[str] = []

    async def scenario() -> list[dict[str, Any]]:
        async with connect(build_url(url, cp_id), subprotocols=[SUBPROTOCOLS[version]],
                           open_timeout=TIMEOUT_S) as ws:
            assert ws.subprotocol == SUBPROTOCOLS[version]
            session = session_v16 if version == "1.6" else session_v201
            return await session(exchange(version, ws, log))

    boot, beat, *transaction = asyncio.run(scenario())
    assert boot["status"] == "Accepted"
    assert_utc_time(beat["currentTime"])
    if version == "1.6":
        start, meter, stop = transaction
        assert start["idTagInfo"]["status"] == "Accepted"
        assert isinstance(start["transactionId"], int) and start["transactionId"] > 0
        assert meter == {}
        assert stop["idTagInfo"]["status"] == "Accepted"
    else:
        started, updated, ended = transaction
        assert started["idTokenInfo"]["status"] == "Accepted"
        assert updated == {}
        assert ended["idTokenInfo"]["status"] == "Accepted"
    assert len(logged_frames(log)) == 10
    assert_journaled(data_dir, cp_id, version, log)

