"""The journal on Kafka, as both its writer (``ingest``) and its readers (``flows``) see it.

``kafka://HOST:PORT[,HOST:PORT...]/TOPIC`` names it. Every record of a charge point goes to
partition ``crc32(charge_point_id) % partitions`` (the flow's shard function: with 8
partitions a partition is a shard), as Arrow IPC record-batch messages of ``RawFrame`` rows:
one Kafka message holds up to ``MAX_ROWS`` records of one group commit and one partition.
Their ``frame_id`` column is written as 0: a record's frame id is where Kafka put it,
``kafka_frame_id(partition, offset, row)``, the same for every reader and every replay, and
growing with the offset within a partition (across partitions it orders nothing).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from canonical.arrow import schema_of
from canonical.errors import ConfigError
from canonical.raw import RawFrame

#: Records in one Kafka message at most (the row takes 12 bits of the frame id).
MAX_ROWS = 4096
PARTITION_BITS, ROW_BITS = 8, 12
MAX_PARTITIONS = 1 << PARTITION_BITS
_SCHEME = "kafka://"
_BROKER = re.compile(r"[A-Za-z0-9.\-_]+:[0-9]{1,5}|\[[0-9A-Fa-f:]+\]:[0-9]{1,5}")
_TOPIC = re.compile(r"[A-Za-z0-9._\-]{1,249}")


@dataclass(frozen=True, slots=True)
class KafkaAddress:
    """Where the journal lives: the bootstrap brokers and the topic."""

    brokers: tuple[str, ...]
    topic: str

    @property
    def bootstrap(self) -> str:
        return ",".join(self.brokers)

    def __str__(self) -> str:
        return f"{_SCHEME}{self.bootstrap}/{self.topic}"


def is_kafka(journal: str | None) -> bool:
    return bool(journal) and str(journal).startswith(_SCHEME)


def parse_address(url: str) -> KafkaAddress:
    """``kafka://BROKER[,BROKER]/TOPIC`` → ``KafkaAddress``; a bad one is named."""
    if not url.startswith(_SCHEME):
        raise ConfigError(f"journal {url!r}: expected kafka://HOST:PORT[,HOST:PORT]/TOPIC")
    brokers_text, slash, topic = url[len(_SCHEME):].partition("/")
    brokers = tuple(b for b in brokers_text.split(",") if b)
    bad = [b for b in brokers if not _BROKER.fullmatch(b)]
    if not slash or not brokers or bad or not _TOPIC.fullmatch(topic):
        what = f"broker {bad[0]!r}" if bad else f"topic {topic!r}" if brokers else "no broker"
        raise ConfigError(f"journal {url!r}: {what}; expected "
                          "kafka://HOST:PORT[,HOST:PORT]/TOPIC")
    return KafkaAddress(brokers, topic)


def partition_of(charge_point_id: str, partitions: int) -> int:
    """The partition of a charge point's records: the flow's shard function, modulo."""
    return zlib.crc32(charge_point_id.encode()) % partitions


def kafka_frame_id(partition: int, offset: int, row: int) -> int:
    """The frame id of row ``row`` of the message at ``offset`` in ``partition``."""
    return (((offset << ROW_BITS) | row) << PARTITION_BITS) | partition


def kafka_position(frame_id: int) -> tuple[int, int, int]:
    """(partition, offset, row) of a frame id made by ``kafka_frame_id``."""
    partition = frame_id & (MAX_PARTITIONS - 1)
    rest = frame_id >> PARTITION_BITS
    return partition, rest >> ROW_BITS, rest & ((1 << ROW_BITS) - 1)


def later_in_partition(frame_id: int, than: int) -> bool:
    """Of two records of one charge point (so of one partition): is ``frame_id`` the later?"""
    return kafka_position(frame_id)[1:] > kafka_position(than)[1:]


def decode_message(value: bytes, partition: int, offset: int) -> pa.RecordBatch:
    """A journal message back as ``RawFrame`` rows, each with its frame id."""
    schema = schema_of(RawFrame)
    batch = pa.ipc.read_record_batch(pa.py_buffer(value), schema)
    rows = np.arange(batch.num_rows, dtype=np.int64) << PARTITION_BITS
    ids = pa.array(rows + kafka_frame_id(partition, offset, 0))
    return batch.set_column(schema.get_field_index("frame_id"), "frame_id", ids)
