"""``KafkaJournalSource``: the journal on a Kafka topic (``canonical.kafka``) as a Bytewax input.

Bytewax's own Kafka connector (``bytewax.connectors.kafka.KafkaSource``) lists the topic's
partitions, which Bytewax spreads over the workers, and reads each by explicit assignment
(no consumer group); here each partition's messages become the items ``JournalSource`` makes
of the file journal, with the same coalescing and clock (``flows.source``)::

    ("frames", pa.Table of RawFrame rows, clock_ns)
    ("tick", shard indexes, clock_ns)   # about once a second, for the shards it feeds

The resume state, kept by Bytewax recovery, is the last frame id handed out: its offset + 1 is
where the partition resumes (a message is handed out whole). A tick goes only to the shards
whose chargers the partition holds (with 8 partitions: one), so 8 partitions do not flush 8
times a second into every shard.
"""

from __future__ import annotations

import pyarrow as pa
from bytewax.connectors.kafka import KafkaSource
from bytewax.inputs import FixedPartitionedSource

from canonical.kafka import KafkaAddress, decode_message, kafka_position
from flows.shard import SHARDS
from flows.source import Item, WallClock, _JournalPartition, wall_ns


class _PartitionReader:
    """One partition as a ``canonical.journal.JournalReader``."""

    def __init__(self, part: object, partition: int) -> None:
        self.part, self.partition = part, partition

    def poll(self) -> list[pa.RecordBatch]:
        messages = self.part.next_batch()  # type: ignore[attr-defined]
        return [decode_message(m.value, self.partition, m.offset) for m in messages
                if m.value is not None]

    def close(self) -> None:
        self.part.close()  # type: ignore[attr-defined]


def shards_of_partition(partition: int, partitions: int) -> tuple[int, ...]:
    """The shards (``flows.shard``) whose chargers partition ``partition`` holds."""
    if SHARDS % partitions == 0:
        return tuple(s for s in range(SHARDS) if s % partitions == partition)
    if partitions % SHARDS == 0:
        return (partition % SHARDS,)
    return tuple(range(SHARDS))


class _KafkaPartition(_JournalPartition):
    def __init__(self, reader: _PartitionReader, after: int, max_rows: int,
                 clock: WallClock, shards: tuple[int, ...]) -> None:
        super().__init__(lambda _after: reader, after, True, max_rows, clock)
        self.shards = shards  # ticks for these; its frames are theirs already, not filtered

    def close(self) -> None:
        self.reader.close()  # type: ignore[attr-defined]


class KafkaJournalSource(FixedPartitionedSource[Item, int]):
    """The topic at ``address``, followed live (a Kafka journal has no end to replay to)."""

    def __init__(self, address: KafkaAddress, max_rows: int = 20_000,
                 clock: WallClock = wall_ns) -> None:
        self.address, self.max_rows, self.clock = address, max_rows, clock
        self.kafka = KafkaSource(list(address.brokers), [address.topic], tail=True,
                                 add_config={"fetch.wait.max.ms": "100"})
        self._parts: list[str] = []

    def list_parts(self) -> list[str]:
        if not self._parts:
            self._parts = self.kafka.list_parts()
        return self._parts

    def build_part(self, step_id: str, for_part: str, resume_state: int | None
                   ) -> _KafkaPartition:
        partition = int(for_part.split("-", 1)[0])
        offset = None if resume_state is None else kafka_position(resume_state)[1] + 1
        part = self.kafka.build_part(step_id, for_part, offset)
        shards = shards_of_partition(partition, len(self.list_parts()))
        return _KafkaPartition(_PartitionReader(part, partition), resume_state or 0,
                               self.max_rows, self.clock, shards)

