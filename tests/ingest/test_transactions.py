"""1.6 StartTransaction: the CSMS assigns the id; the same content gets the same id, always."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import websockets

from tests.ingest.conftest import running_server


def start(mid: str, meter_start: int = 1000, ts: str = "2026-01-05T10:00:00Z") -> str:
    return orjson.dumps([2, mid, "StartTransaction", {
        "connectorId": 1, "idTag": "TAG", "timestamp": ts, "meterStart": meter_start}]).decode()


async def tx_ids(port: int, frames: list[str], cp_id: str = "CP-T") -> list[int]:
    ids = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{cp_id}",
                                  subprotocols=["ocpp1.6"]) as ws:
        for frame in frames:
            await ws.send(frame)
            ids.append(orjson.loads(await ws.recv())[2]["transactionId"])
    return ids


def test_repeated_start_gets_same_id_across_reconnect_and_restart(tmp_path: Path, run: Any) -> None:
    async def first_life() -> list[int]:
        async with running_server(tmp_path) as cs:
            a = await tx_ids(cs.port, [start("m1"), start("m2", meter_start=2000)])
            b = await tx_ids(cs.port, [start("m3")])  # reconnect, new message id, same content
            return a + b

    async def second_life() -> list[int]:
        async with running_server(tmp_path) as cs:
            return await tx_ids(cs.port, [start("m4"), start("m5", meter_start=3000),
                                          start("m6", meter_start=2000)])

    assert run(first_life()) == [1, 2, 1]
    assert run(second_life()) == [1, 3, 2]


def test_same_content_on_another_charger_is_another_transaction(tmp_path: Path, run: Any) -> None:
    async def scenario() -> list[int]:
        async with running_server(tmp_path) as cs:
            return (await tx_ids(cs.port, [start("a")], "CP-A")
                    + await tx_ids(cs.port, [start("a")], "CP-B"))

    assert run(scenario()) == [1, 2]


def test_broken_start_is_still_answered_with_a_transaction_id(tmp_path: Path, run: Any) -> None:
    broken = '[2,"x","StartTransaction",{"connectorId":"one","meterStart":12.5}]'

    async def scenario() -> list[int]:
        async with running_server(tmp_path) as cs:
            return await tx_ids(cs.port, [broken])

    assert run(scenario()) == [1]
