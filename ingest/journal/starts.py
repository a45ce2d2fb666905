"""The journal's index of OCPP 1.6 transaction starts: one small file per closed segment.

``seg-<first frame id>.starts`` beside the segment holds, for every 1.6 StartTransaction
answered with a ``transactionId`` in that segment, the digest of its content key, the id and
the answer's server time (32 bytes each; the content key itself may be 1 MiB: an idTag is
charger-chosen), and in its header the highest id given in this segment *or any before it*.
The writer writes it (atomically, durably) when it opens the segment (*open*: the header
alone, so the newest segment always carries the highest id, whatever retention removed
before it) and again, whole, when it closes it; a segment whose index is open or missing (a
crash, an older writer) is indexed from its frames at the next writer start. At start the
ingest loads the newest of them (``TransactionRegistry.from_journal``) instead of the journal.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from canonical import RawFrame, from_table, jsontext
from canonical.enums import Direction, MessageType, Protocol, RecordKind
from ingest.files import FileSystem, write_atomically

ContentKey = tuple[str, str, str, str, str]
SUFFIX = ".starts"
_ACTION = "StartTransaction"
_MAGIC = b"CLSTART1"
_MAGIC_OPEN = b"CLSTARTo"  # written when the segment opens: only the highest id before it
_PREFIX = "seg-"
_HEADER = struct.Struct("<8sqqq")  # magic, entries, highest id through this segment, newest ns
_ENTRY = struct.Struct("<16sqq")  # content key digest, transactionId, answered at (ns, UTC)
_PENDING_CALLS = 10_000  # calls waiting for their answer (the ingest journals both at once)
_LIMIT = 2**63


def content_key(charge_point_id: str, payload: dict[str, Any]) -> ContentKey:
    """The dedup key of a 1.6 StartTransaction payload (raw JSON text of each field)."""
    def field(name: str) -> str:
        value = payload.get(name)
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # an integer beyond 64 bits (valid JSON, read by the fallback)
            return json.dumps(value)

    return (charge_point_id, field("connectorId"), field("idTag"), field("timestamp"),
            field("meterStart"))


def key_digest(key: ContentKey) -> bytes:
    """16 bytes of BLAKE2b over the key's fields, each length-prefixed (no two keys alike)."""
    h = hashlib.blake2b(digest_size=16)
    for part in key:
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


@dataclass(frozen=True, slots=True)
class Start:
    """One answered start: who (``digest``), which id, when (server clock, ns), which frame."""

    digest: bytes
    transaction_id: int
    answered_ns: int
    frame_id: int = 0


@dataclass(frozen=True, slots=True)
class StartIndex:
    """One segment's ``.starts`` file: the highest id given up to it, its newest answer's
    time, and its starts packed (``entries()`` unpacks them, oldest first). Not
    ``complete``: written as the segment opened, its starts are in the segment only."""

    highest_id: int
    newest_ns: int
    packed: bytes = b""
    complete: bool = True

    def __len__(self) -> int:
        return len(self.packed) // _ENTRY.size

    def entries(self) -> Iterator[tuple[bytes, int, int]]:
        """(digest, transactionId, answered at ns) of each start."""
        return _ENTRY.iter_unpack(self.packed)

    @classmethod
    def of(cls, starts: Sequence[Start], highest_id: int = 0,
           newest_ns: int = 0) -> StartIndex:
        """The index of ``starts``, carrying on from the ``highest_id`` and ``newest_ns``
        of the segments before."""
        highest = max([highest_id, *(s.transaction_id for s in starts)])
        newest = max([newest_ns, *(s.answered_ns for s in starts)])
        packed = b"".join(_ENTRY.pack(s.digest, s.transaction_id, s.answered_ns)
                          for s in starts)
        return cls(highest, newest, packed)


class StartCollector:
    """Pairs 1.6 StartTransaction CALLs with the CALLRESULTs that answer them, as records go
    by in journal order; each pair is a ``Start``."""

    def __init__(self) -> None:
        self._calls: dict[tuple[str, str], bytes] = {}

    def feed(self, records: Iterable[RawFrame], first_frame_id: int) -> list[Start]:
        found: list[Start] = []
        for frame_id, r in enumerate(records, start=first_frame_id):
            if r.action == _ACTION and r.protocol == Protocol.v16:
                start = self.feed_one(r, frame_id)
                if start is not None:
                    found.append(start)
        return found

    def feed_one(self, r: RawFrame, frame_id: int) -> Start | None:
        if r.record_kind != RecordKind.frame or r.message_id is None:
            return None
        pair = (r.connection_id, r.message_id)
        try:
            frame = jsontext.loads(r.raw)
        except jsontext.JSONDecodeError:
            return None
        if not isinstance(frame, list) or len(frame) < 3:
            return None
        if r.direction == Direction.inbound and r.message_type == MessageType.call:
            if len(frame) > 3 and isinstance(frame[3], dict):
                if len(self._calls) >= _PENDING_CALLS:
                    del self._calls[next(iter(self._calls))]
                self._calls[pair] = key_digest(content_key(r.charge_point_id, frame[3]))
        elif r.message_type == MessageType.call_result and pair in self._calls:
            digest = self._calls.pop(pair)
            tx_id = frame[2].get("transactionId") if isinstance(frame[2], dict) else None
            if isinstance(tx_id, int) and not isinstance(tx_id, bool) and 0 < tx_id < _LIMIT:
                return Start(digest, tx_id, int(r.received_at), frame_id)
        return None

    def feed_table(self, batches: Iterable[pa.RecordBatch]) -> list[Start]:
        """The starts of journal batches (a segment read back), reading only the 1.6
        StartTransaction rows."""
        found: list[Start] = []
        for batch in batches:
            mask = pc.and_(pc.equal(batch.column("action"), _ACTION),
                           pc.equal(batch.column("protocol"), Protocol.v16.value))
            rows = batch.filter(mask)
            if rows.num_rows:
                table = pa.Table.from_batches([rows])
                for r in from_table(RawFrame, table):
                    start = self.feed_one(r, r.frame_id)
                    if start is not None:
                        found.append(start)
        return found


def index_path(segment_path: Path) -> Path:
    return segment_path.with_suffix(SUFFIX)


def index_files(directory: Path, fs: FileSystem) -> list[tuple[int, Path]]:
    """(first frame id, path) of every ``.starts`` file, oldest first: also of segments
    retention has removed since (their starts still count, their ids surely do)."""
    found = []
    for name in fs.listdir(directory):
        if name.startswith(_PREFIX) and name.endswith(SUFFIX):
            digits = name[len(_PREFIX): -len(SUFFIX)]
            if digits.isdigit():
                found.append((int(digits), directory / name))
    return sorted(found)


def coverage(directory: Path, fs: FileSystem) -> tuple[int, StartIndex]:
    """(first frame id of the newest segment a whole index covers, 0 if none; the header
    carrying the highest id and newest time of every index file from there on). The
    segments after it, their indexes open or missing, must be read from their frames."""
    covered, highest, newest = 0, 0, 0
    for first, path in reversed(index_files(directory, fs)):
        header = read_index(fs, path, header_only=True)
        if header is None:
            continue
        highest, newest = max(highest, header.highest_id), max(newest, header.newest_ns)
        if header.complete:
            covered = first
            break
    return covered, StartIndex(highest, newest)


def write_index(fs: FileSystem, path: Path, index: StartIndex) -> None:
    magic = _MAGIC if index.complete else _MAGIC_OPEN
    header = _HEADER.pack(magic, len(index), index.highest_id, index.newest_ns)
    write_atomically(fs, path, header + index.packed)


def read_index(fs: FileSystem, path: Path, header_only: bool = False) -> StartIndex | None:
    """The index in ``path``; None if it is missing or not whole (then rebuild it)."""
    try:
        data = fs.read(path, 0, _HEADER.size if header_only else -1)
    except FileNotFoundError:
        return None
    if len(data) < _HEADER.size:
        return None
    magic, count, highest, newest = _HEADER.unpack_from(data)
    if magic not in (_MAGIC, _MAGIC_OPEN) or (
            not header_only and len(data) != _HEADER.size + count * _ENTRY.size):
        return None
    packed = b"" if header_only else data[_HEADER.size:]
    return StartIndex(highest, newest, packed, magic == _MAGIC)
