"""What an ingest node reads back from the shared Kafka journal, while it serves.

Every node follows the whole topic from its beginning (``TopicFollower``): the 1.6 starts
answered by any node go into its ``TransactionRegistry`` (a start retried on this node after
another failed gets the id the other gave), and the ``connected`` records of other nodes
close this node's older socket of the same charge point (newest connection wins across
nodes). Order is the partition's: a charge point's records all live in one partition, so
which of two connections is newer is which ``connected`` record has the higher offset, not
whose clock says so.

A node starts serving only once it has read the topic to the end it had at start
(``catch_up``), and admits a charger only once it has read that charger's partition to the
end it has then (``wait_caught_up``): the starts another node answered it are known before
the charger can send one here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from canonical.enums import RecordKind
from canonical.errors import JournalError
from canonical.kafka import KafkaAddress, decode_message
from ingest.journal.kafka import CLIENT_LOG
from ingest.journal.starts import Start, StartCollector
from ingest.transactions import TransactionRegistry

log = logging.getLogger("chargeline.ingest.kafka")


@dataclass(frozen=True, slots=True)
class Connected:
    """A ``connected`` record read from the topic: a charge point's connection, somewhere."""

    charge_point_id: str
    connection_id: str
    frame_id: int


OnConnected = Callable[[Connected], None]


def _consumer(address: KafkaAddress) -> Consumer:
    return Consumer({"bootstrap.servers": address.bootstrap, "group.id": "chargeline-ingest",
                     "enable.auto.commit": False, "enable.partition.eof": False,
                     "logger": CLIENT_LOG})


class TopicFollower:
    """Reads the topic on a thread of its own; hands what it found to the event loop."""

    def __init__(self, address: KafkaAddress, partitions: int,
                 registry: TransactionRegistry) -> None:
        self.address, self.partitions, self.registry = address, partitions, registry
        self.position = [0] * partitions  # next offset to read, as applied
        self.on_connected: OnConnected = lambda _c: None
        self._collector = StartCollector()
        self._consumer = _consumer(address)
        self._probe = _consumer(address)
        self._probe_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[int, list[asyncio.Future[int]]] = {}  # partition -> callers
        self._querying = False

    def high_watermarks(self, partitions: list[int] | None = None) -> dict[int, int]:
        wanted = range(self.partitions) if partitions is None else partitions
        with self._probe_lock:
            try:
                return {p: int(self._probe.get_watermark_offsets(
                    TopicPartition(self.address.topic, p), timeout=10, cached=False)[1])
                    for p in wanted}
            except KafkaException as exc:
                raise JournalError(f"journal {self.address}: {exc}") from exc

    def catch_up(self, timeout_s: float = 600.0) -> None:
        """Read the topic to its end as of now (blocking; before the node serves)."""
        self._consumer.assign([TopicPartition(self.address.topic, p, OFFSET_BEGINNING)
                               for p in range(self.partitions)])
        ends = self.high_watermarks()
        deadline = time.monotonic() + timeout_s
        while any(self.position[p] < end for p, end in ends.items()):
            if time.monotonic() > deadline:
                raise JournalError(f"journal {self.address}: not read to its end in "
                                   f"{timeout_s:.0f} s")
            self._apply(*self._read())

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Follow on from here on a thread; apply on ``loop``."""
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="kafka-follower", daemon=True)
        self._thread.start()

    async def wait_caught_up(self, partition: int, timeout_s: float = 10.0) -> None:
        """Until this node has read ``partition`` as far as the broker holds it now."""
        end = await self._end_from_now(partition)
        deadline = time.monotonic() + timeout_s
        while self.position[partition] < end:
            if time.monotonic() > deadline:
                raise JournalError(f"journal {self.address}: partition {partition} not read "
                                   f"to offset {end} in {timeout_s:.0f} s")
            await asyncio.sleep(0.005)

    async def _end_from_now(self, partition: int) -> int:
        """The end of ``partition`` by a broker query begun after this call. Callers meanwhile
        share one (a failover brings hundreds of chargers at once: one query a charger,
        one at a time, took ~1 s for 500 of them)."""
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(partition, []).append(done)
        if not self._querying:
            self._querying = True
            asyncio.get_running_loop().create_task(self._query_ends())
        return await done

    async def _query_ends(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    ends: dict[int, int] | JournalError = await asyncio.to_thread(
                        self.high_watermarks, sorted(batch))
                except JournalError as exc:
                    ends = exc
                for partition, futures in batch.items():
                    for future in (f for f in futures if not f.done()):
                        if isinstance(ends, JournalError):
                            future.set_exception(ends)
                        else:
                            future.set_result(ends[partition])
        finally:
            self._querying = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._consumer.close()
        self._probe.close()

    def _run(self) -> None:
        assert self._loop is not None
        while not self._stop.is_set():
            try:
                found = self._read()
            except Exception:  # the broker away: the next read retries
                log.exception("reading the journal back")
                time.sleep(1.0)
                continue
            if found[2]:
                self._loop.call_soon_threadsafe(self._apply, *found)

    def _read(self) -> tuple[list[Start], list[Connected], dict[int, int]]:
        starts: list[Start] = []
        connects: list[Connected] = []
        moved: dict[int, int] = {}
        for msg in self._consumer.consume(1000, 0.1):
            if msg.error() is not None:
                log.warning("journal read: %s", msg.error())
                continue
            partition, offset, value = msg.partition(), msg.offset(), msg.value()
            if partition is None or offset is None or value is None:
                continue
            batch = decode_message(value, partition, offset)
            starts += self._collector.feed_table([batch])
            connects += _connected(batch)
            moved[partition] = offset + 1
        return starts, connects, moved

    def _apply(self, starts: list[Start], connects: list[Connected],
               moved: dict[int, int]) -> None:
        for start in starts:
            self.registry.remember(start.digest, start.transaction_id, start.answered_ns)
        for connected in connects:
            self.on_connected(connected)
        for partition, offset in moved.items():
            self.position[partition] = max(self.position[partition], offset)


def _connected(batch: pa.RecordBatch) -> list[Connected]:
    rows = batch.filter(pc.equal(batch.column("record_kind"), RecordKind.connected.value))
    return [Connected(cp, conn, fid) for cp, conn, fid in zip(
        rows.column("charge_point_id").to_pylist(), rows.column("connection_id").to_pylist(),
        rows.column("frame_id").to_pylist(), strict=True)]

