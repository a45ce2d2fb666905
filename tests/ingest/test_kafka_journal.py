"""The journal on Kafka (a real Tansu broker on loopback): answers only after the broker's
ack, transaction ids of several nodes, newest connection wins across nodes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets

from canonical.enums import RecordKind
from canonical.kafka import kafka_position
from ingest.journal import kafka
from ingest.transactions import node_block
from tests.broker import Broker, read_topic
from tests.ingest.conftest import running_server
from tests.ingest.test_transactions import start, tx_ids

pytestmark = pytest.mark.timeout(120)


def node(tmp_path: Path, broker: Broker, topic: str, node_id: int) -> Any:
    return running_server(tmp_path / f"node{node_id}", journal=broker.journal(topic),
                          node_id=node_id)


def test_a_call_is_answered_after_its_record_is_in_the_topic(tmp_path: Path, run: Any,
                                                             broker: Broker) -> None:
    async def scenario() -> list[int]:
        async with node(tmp_path, broker, "answered", 0) as cs:
            return await tx_ids(cs.port, [start("m1"), start("m2", meter_start=2000)])

    ids = run(scenario())
    records = read_topic(broker, "answered")
    frames = [r for r in records if r.record_kind == RecordKind.frame]
    assert [orjson.loads(r.raw)[2]["transactionId"] for r in frames
            if r.direction == "out"] == ids == [1, 2]
    assert [r.message_id for r in frames] == ["m1", "m1", "m2", "m2"]
    partitions = {kafka_position(r.frame_id)[0] for r in records}
    assert len(partitions) == 1  # one charge point, one partition
    assert records[0].record_kind == RecordKind.connected


def test_no_ack_no_answer(tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker gone: a CALL is answered InternalError (the charger keeps it), not
    acknowledged as if stored."""
    from tests.broker import start_broker

    own = start_broker(tmp_path / "tansu.log")
    monkeypatch.setattr(kafka, "ACK_TIMEOUT_S", 3.0)

    async def scenario() -> Any:
        async with node(tmp_path, own, "gone", 0) as cs, websockets.connect(
                f"ws://127.0.0.1:{cs.port}/ocpp/CP-G", subprotocols=["ocpp1.6"]) as ws:
            await ws.send('[2, "hb", "Heartbeat", {}]')
            assert orjson.loads(await ws.recv())[0] == 3  # connected, journaled
            own.stop()
            await ws.send(start("m1"))
            return orjson.loads(await asyncio.wait_for(ws.recv(), 30))

    try:
        answer = run(scenario())
    finally:
        own.stop()
    assert answer[0] == 4 and answer[1] == "m1" and answer[2] == "InternalError"


def test_ids_of_two_nodes_never_collide_and_a_retried_start_keeps_its_id(
        tmp_path: Path, run: Any, broker: Broker) -> None:
    async def scenario() -> tuple[list[int], list[int], list[int]]:
        async with node(tmp_path, broker, "failover", 1) as a:
            first = await tx_ids(a.port, [start("m1"), start("m2", meter_start=2000)])
        async with node(tmp_path, broker, "failover", 2) as b:  # node 1 down: the charger here
            second = await tx_ids(b.port, [start("m3"), start("m4", meter_start=3000)])
        async with node(tmp_path, broker, "failover", 1) as a:  # node 1 back
            third = await tx_ids(a.port, [start("m5", meter_start=2000),
                                          start("m6", meter_start=4000)])
        return first, second, third

    first, second, third = run(scenario())
    one, two = node_block(1), node_block(2)
    assert first == [one.start, one.start + 1]
    assert second == [first[0], two.start]  # the retried start: node 1's id
    assert third == [first[1], one.start + 2]  # node 1 counts on from the topic


def test_a_reconnect_to_another_node_closes_the_old_socket_there(
        tmp_path: Path, run: Any, broker: Broker) -> None:
    async def scenario() -> tuple[int | None, str | None]:
        async with node(tmp_path, broker, "takeover", 3) as a, \
                node(tmp_path, broker, "takeover", 4) as b:
            url = "ws://127.0.0.1:{}/ocpp/CP-X"
            async with websockets.connect(url.format(a.port), subprotocols=["ocpp1.6"]) as old:
                await old.send(start("m1"))
                await old.recv()
                async with websockets.connect(url.format(b.port),
                                              subprotocols=["ocpp1.6"]) as new:
                    await new.send(start("m2"))
                    assert orjson.loads(await new.recv())[2]["transactionId"] == \
                        node_block(3).start
                    with pytest.raises(websockets.ConnectionClosed):
                        await asyncio.wait_for(old.recv(), 10)
                    assert "CP-X" not in a.live and "CP-X" in b.live
                    return old.close_code, old.close_reason

    code, reason = run(scenario())
    assert code == 1000 and reason == "replaced by a newer connection"
    replaced = [r for r in read_topic(broker, "takeover") if r.record_kind == RecordKind.replaced]
    assert len(replaced) == 1 and orjson.loads(replaced[0].raw)["new_connection_id"]
