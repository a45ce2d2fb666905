"""OCPP 1.6 transaction ids: the CSMS assigns them, and a start seen again gets the same one.

Chargers resend StartTransaction with new message ids (after a reconnect, a reboot, a lost
answer). The content key ``(charge point, connectorId, idTag, timestamp, meterStart)`` says
it is the same start, so it is answered with the same ``transactionId`` — also across server
restarts: the journal's writer indexes every answered start per segment
(``ingest.journal.starts``) and a starting server loads the newest indexes, not the journal,
so a restart costs the same after a year of traffic as after a day.

Keys are kept as 16-byte digests (an idTag is charger-chosen and may be 1 MiB), and only so
many: the starts answered within ``MAX_AGE_NS`` (31 days, by the server clock, measured from
the newest start) and at most ``MAX_KEYS`` of them (500,000, ~60 MiB), the oldest forgotten
first (in bulk, so up to 10 % more are held at times). A start resent after it was forgotten
gets a new id, which the flow reports as a duplicate start. Ids never repeat: every index
carries the highest id given up to it.
"""

from __future__ import annotations

import itertools
import os
from collections import deque
from pathlib import Path
from typing import Any

from canonical.errors import JournalError
from ingest.files import OS, FileSystem
from ingest.journal.segments import journal_dir, list_segments, read_segment
from ingest.journal.starts import (
    StartCollector,
    StartIndex,
    content_key,
    coverage,
    index_files,
    key_digest,
    read_index,
)

__all__ = ["MAX_AGE_NS", "MAX_KEYS", "TransactionRegistry", "content_key", "node_block"]

MAX_KEYS = 500_000
NODE_BITS, COUNTER_BITS = 5, 26  # 32 nodes x 67 M ids each: all inside a 1.6 int32
MAX_AGE_NS = 31 * 86_400 * 10**9
_HOUR_NS = 3600 * 10**9


class TransactionRegistry:
    """Assigns 1.6 transaction ids; the same content key gets the same id while it is kept
    (see the module's bounds)."""

    def __init__(self, first_id: int = 1, max_keys: int = MAX_KEYS,
                 max_age_ns: int = MAX_AGE_NS, block: range | None = None) -> None:
        self._by_key: dict[bytes, int] = {}
        self._hours: deque[list[int]] = deque()  # [hour, keys added in it], oldest first
        self.block = block  # the ids this registry may give (a node's, on Kafka); None: all
        self.next_id = max(first_id, block.start) if block is not None else first_id
        self.max_keys, self.max_age_ns = max_keys, max_age_ns

    def assign(self, charge_point_id: str, payload: dict[str, Any],
               now_ns: int = 0) -> tuple[int, bool]:
        """(transactionId, seen_before) for a StartTransaction payload received at
        ``now_ns`` (server clock, UTC)."""
        digest = key_digest(content_key(charge_point_id, payload))
        known = self._by_key.get(digest)
        if known is not None:
            return known, True
        tx_id = self.next_id
        if self.block is not None and tx_id not in self.block:
            raise JournalError(f"transaction ids {self.block.start}..{self.block.stop - 1} of "
                               "this node are used up")
        self.next_id += 1
        self._add(digest, tx_id, now_ns)
        return tx_id, False

    def remember(self, digest: bytes, tx_id: int, answered_ns: int) -> None:
        """A start answered before (from the journal's index); older ones first."""
        if digest not in self._by_key:
            self._add(digest, tx_id, answered_ns)
        if self.block is None or tx_id in self.block:  # another node's ids are not ours
            self.next_id = max(self.next_id, tx_id + 1)

    def __len__(self) -> int:
        return len(self._by_key)

    def _add(self, digest: bytes, tx_id: int, at_ns: int) -> None:
        self._by_key[digest] = tx_id
        hour = at_ns // _HOUR_NS
        if self._hours and self._hours[-1][0] >= hour:
            self._hours[-1][1] += 1  # the same hour (or the clock went back)
        else:
            self._hours.append([hour, 1])
        self.forget_old(at_ns)

    def forget_old(self, now_ns: int) -> None:
        """Drop the oldest keys past the bounds, a tenth of them at a time: dropping one at
        a time from the front of a dict costs a scan of its deleted slots each."""
        expired, cutoff = 0, (now_ns - self.max_age_ns) // _HOUR_NS
        for hour, count in self._hours:
            if hour >= cutoff:
                break
            expired += count
        drop = max(expired, len(self._by_key) - self.max_keys)
        if drop > 0 and drop >= max(1, min(len(self._by_key), self.max_keys) // 10):
            self._by_key = dict(itertools.islice(self._by_key.items(), drop, None))
            while drop:
                taken = min(drop, self._hours[0][1])
                self._hours[0][1] -= taken
                drop -= taken
                if not self._hours[0][1]:
                    self._hours.popleft()

    @classmethod
    def from_journal(cls, data_dir: str | os.PathLike[str], max_keys: int = MAX_KEYS,
                     max_age_ns: int = MAX_AGE_NS, fs: FileSystem = OS) -> TransactionRegistry:
        """The registry as the journal's start indexes give it (``newest_indexes``).
        The highest id of all comes with the newest index, whatever retention removed."""
        indexes = newest_indexes(journal_dir(data_dir), max_keys, max_age_ns, fs)
        highest = max((index.highest_id for index in indexes), default=0)
        registry = cls(highest + 1, max_keys, max_age_ns)
        for index in reversed(indexes):
            for digest, tx_id, answered_ns in index.entries():
                registry.remember(digest, tx_id, answered_ns)
        registry.forget_old(max((index.newest_ns for index in indexes), default=0))
        return registry


def node_block(node_id: int) -> range:
    """The transactionIds ingest node ``node_id`` gives on a shared (Kafka) journal: the node
    in the high bits of a positive int32, a counter below (ids of two nodes never collide)."""
    if not 0 <= node_id < 1 << NODE_BITS:
        raise ValueError(f"node id {node_id}: must be 0..{(1 << NODE_BITS) - 1}")
    return range(max(1, node_id << COUNTER_BITS), (node_id + 1) << COUNTER_BITS)


def newest_indexes(directory: Path, max_keys: int, max_age_ns: int,
                   fs: FileSystem) -> list[StartIndex]:
    """The start indexes, newest first, until the bounds are met. The segments after the
    newest whole index (the one being written, whose index is open; every segment of an
    older writer's journal, until a writer starts and indexes them) are read from frames."""
    covered, carried = coverage(directory, fs)
    chosen = [StartIndex.of(StartCollector().feed_table(read_segment(segment, fs)),
                            carried.highest_id, carried.newest_ns)
              for segment in reversed(list_segments(directory, fs))
              if segment.first_frame_id > covered]
    newest = max((index.newest_ns for index in chosen), default=carried.newest_ns)
    kept = sum(len(index) for index in chosen)
    for first, path in reversed(index_files(directory, fs)):
        index = read_index(fs, path) if first <= covered else None
        if index is None or not index.complete:
            continue
        if kept >= max_keys or index.newest_ns < newest - max_age_ns:
            break  # this index and all older: past the bounds (their highest id is carried)
        chosen.append(index)
        newest, kept = max(newest, index.newest_ns), kept + len(index)
    return chosen
