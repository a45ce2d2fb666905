"""Naming and reading of journal segment files, and the mark of how far they are durable."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from canonical import RawFrame, schema_of
from ingest.files import OS, FileSystem

SCHEMA = schema_of(RawFrame)
_PREFIX = "seg-"
DURABLE = "DURABLE"
_MARK = struct.Struct("<qqqq")
_MAGIC = 0x6A6F75726E616C31  # b"journal1": a mark torn by a concurrent write fails the check


def journal_dir(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / "journal"


@dataclass(frozen=True)
class Segment:
    """One segment: its first frame id and the file holding it (IPC if still open)."""

    first_frame_id: int
    path: Path

    @property
    def sealed(self) -> bool:
        return self.path.suffix == ".parquet"


@dataclass(frozen=True)
class DurableMark:
    """How far the journal may be read: the segment starting at frame ``segment`` holds
    ``offset`` durable bytes, and every frame before ``next_frame_id`` is durable.

    The writer rewrites ``<journal>/DURABLE`` after each fsync (not itself fsync'd: it only
    tells readers what they may see, and every writer start rewrites it). Readers read no
    segment after ``segment`` and that one only up to ``offset``, so they never see a batch
    that is not durable yet, nor one whose fsync failed (it is cut off before the mark moves).
    """

    segment: int
    offset: int
    next_frame_id: int

    def pack(self) -> bytes:
        check = self.segment ^ self.offset ^ self.next_frame_id ^ _MAGIC
        return _MARK.pack(self.segment, self.offset, self.next_frame_id, check)

    @classmethod
    def unpack(cls, data: bytes) -> DurableMark | None:
        if len(data) != _MARK.size:
            return None
        segment, offset, next_frame_id, check = _MARK.unpack(data)
        if check != segment ^ offset ^ next_frame_id ^ _MAGIC:
            return None
        return cls(segment, offset, next_frame_id)


NOTHING_DURABLE = DurableMark(0, 0, 0)


def read_mark(directory: Path, fs: FileSystem = OS) -> DurableMark | None:
    """The writer's mark; None if there is none (a journal of an older writer: read it all).
    A mark that stays torn reads as ``NOTHING_DURABLE`` (the next writer start rewrites it)."""
    for _ in range(3):
        try:
            data = fs.read(directory / DURABLE, 0, _MARK.size)
        except FileNotFoundError:
            return None
        mark = DurableMark.unpack(data)
        if mark is not None:
            return mark
    return NOTHING_DURABLE


def segment_path(directory: Path, first_frame_id: int, suffix: str) -> Path:
    return directory / f"{_PREFIX}{first_frame_id:020d}{suffix}"


def list_segments(directory: Path, fs: FileSystem = OS) -> list[Segment]:
    """Segments in frame-id order; where a segment exists both sealed and not, the sealed wins."""
    found: dict[int, Path] = {}
    for name in fs.listdir(directory):
        path = directory / name
        if not name.startswith(_PREFIX) or path.suffix not in (".arrow", ".parquet"):
            continue
        first = int(path.stem[len(_PREFIX):])
        if first not in found or path.suffix == ".parquet":
            found[first] = path
    return [Segment(k, found[k]) for k in sorted(found)]


def read_ipc_from(path: Path, offset: int, end: int | None = None,
                  fs: FileSystem = OS) -> tuple[list[pa.RecordBatch], int]:
    """Complete batches of an IPC stream segment from byte ``offset`` (0 = start) up to byte
    ``end`` (None: the end of the file).

    Reads only the bytes from ``offset`` on, so a reader keeping the returned offset pays
    for each byte once however long the segment grows. Returns the batches and the offset
    after the last complete one. A torn or still-growing tail is not an error: it is left for
    the next call, which reads it again from its start.
    """
    size = -1 if end is None else max(0, end - offset)
    data = fs.read(path, offset, size)
    reader = pa.BufferReader(data)
    if offset == 0:
        try:
            pa.ipc.read_message(reader)  # the schema message
        except (OSError, EOFError, pa.ArrowInvalid):
            return [], 0
    batches: list[pa.RecordBatch] = []
    good = reader.tell()
    while True:
        try:
            message = pa.ipc.read_message(reader)
            batches.append(pa.ipc.read_record_batch(message, SCHEMA))
        except (OSError, EOFError, pa.ArrowInvalid):
            break
        good = reader.tell()
    return batches, offset + good


def read_segment(segment: Segment, fs: FileSystem = OS) -> Iterator[pa.RecordBatch]:
    """Every complete batch of a segment, sealed or not."""
    if segment.sealed:
        source = pa.BufferReader(fs.read(segment.path))
        yield from pq.ParquetFile(source).iter_batches(batch_size=65_536)
        return
    batches, _ = read_ipc_from(segment.path, 0, fs=fs)
    yield from batches
