"""Naming and reading of journal segment files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from canonical import RawFrame, schema_of

SCHEMA = schema_of(RawFrame)
_PREFIX = "seg-"


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


def segment_path(directory: Path, first_frame_id: int, suffix: str) -> Path:
    return directory / f"{_PREFIX}{first_frame_id:020d}{suffix}"


def list_segments(directory: Path) -> list[Segment]:
    """Segments in frame-id order; where a segment exists both sealed and not, the sealed wins."""
    found: dict[int, Path] = {}
    if not directory.exists():
        return []
    for path in directory.iterdir():
        if not path.name.startswith(_PREFIX) or path.suffix not in (".arrow", ".parquet"):
            continue
        first = int(path.stem[len(_PREFIX):])
        if first not in found or path.suffix == ".parquet":
            found[first] = path
    return [Segment(k, found[k]) for k in sorted(found)]


def read_ipc_from(path: Path, offset: int) -> tuple[list[pa.RecordBatch], int]:
    """Complete batches of an IPC stream segment from byte ``offset`` (0 = start).

    Reads only the bytes from ``offset`` on, so a reader keeping the returned offset pays
    for each byte once however long the segment grows. Returns the batches and the offset
    after the last complete one. A torn or still-growing tail is not an error: it is left for
    the next call, which reads it again from its start.
    """
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
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


def read_segment(segment: Segment) -> Iterator[pa.RecordBatch]:
    """Every complete batch of a segment, sealed or not."""
    if segment.sealed:
        yield from pq.ParquetFile(segment.path).iter_batches(batch_size=65_536)
        return
    batches, _ = read_ipc_from(segment.path, 0)
    yield from batches
