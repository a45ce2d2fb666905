"""Which journal a server writes to: the files under its data dir (the default), or a Kafka
topic shared by several ingest nodes (``kafka://BROKERS/TOPIC``). Both look the same to a
connection (``Journal``): ``await write(records)`` returns the records' frame ids once they
are stored, and nothing is answered before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from canonical import RawFrame
from canonical.kafka import parse_address
from ingest.journal.group_commit import GroupCommitJournal
from ingest.journal.writer import JournalWriter
from ingest.transactions import TransactionRegistry, node_block

if TYPE_CHECKING:  # the Kafka client is imported only when a Kafka journal is named
    from ingest.journal.kafka_follow import TopicFollower


class Journal(Protocol):
    #: Called on the event loop after each group is stored: (seconds it took, records).
    on_commit: Callable[[float, int], None] | None

    async def write(self, records: Sequence[RawFrame]) -> Sequence[int]:
        """Frame ids of ``records`` once they are stored (``JournalError`` if they cannot be)."""
        ...

    def submit(self, records: Sequence[RawFrame]) -> asyncio.Future[Any]:
        """Queue ``records`` now, in order after all queued before; the future is done with
        their frame ids (a ``Sequence[int]``) once they are stored, or fails."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class OpenJournal:
    journal: Journal
    transactions: TransactionRegistry
    follower: TopicFollower | None = None  # on Kafka: the other nodes' records, read back


async def open_journal(data_dir: Path, journal: str | None, node_id: int) -> OpenJournal:
    """The journal named by ``journal`` (None: the files under ``data_dir``) with its
    transaction registry; on Kafka the topic is read to its end first (starts of every node)
    and followed on."""
    if journal is None:
        writer = await asyncio.to_thread(JournalWriter, data_dir)
        registry = await asyncio.to_thread(TransactionRegistry.from_journal, data_dir)
        return OpenJournal(GroupCommitJournal(writer), registry)
    from ingest.journal.kafka import KafkaJournal, ensure_topic
    from ingest.journal.kafka_follow import TopicFollower

    address = parse_address(journal)
    # the data dir still holds credentials, tokens, the admin files
    await asyncio.to_thread(Path(data_dir).mkdir, parents=True, exist_ok=True)
    partitions = await asyncio.to_thread(ensure_topic, address)
    registry = TransactionRegistry(block=node_block(node_id))
    follower = TopicFollower(address, partitions, registry)
    await asyncio.to_thread(follower.catch_up)
    follower.start(asyncio.get_running_loop())
    return OpenJournal(KafkaJournal(address, partitions), registry, follower)
