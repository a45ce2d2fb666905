"""Single-process journal writer: assigns frame ids, appends Arrow batches, fsyncs."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from canonical import RawFrame, to_batch
from canonical.errors import JournalError, JournalLockedError
from ingest.journal.segments import (
    SCHEMA,
    Segment,
    journal_dir,
    list_segments,
    read_segment,
    segment_path,
)

# A segment is an Arrow IPC stream written by hand, byte for byte what
# ``pa.ipc.new_stream`` writes: the schema message, one message per batch, end-of-stream.
_SCHEMA_MESSAGE = SCHEMA.serialize().to_pybytes()
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """Records numbered ``ids``, packed as one Arrow IPC record-batch message."""

    ids: range
    payload: bytes


class JournalWriter:
    """Appends records to ``<data_dir>/journal``; one writer per journal (enforced by a lock).

    ``append`` returns only once the records are on disk (fsync), so a caller may acknowledge
    them. Frame ids grow by one per record and continue across restarts. A restart never
    appends to an old segment (its tail may be torn): it opens a new one.
    """

    def __init__(self, data_dir: str | os.PathLike[str], segment_rows: int = 200_000,
                 fsync: bool = True) -> None:
        if segment_rows < 1:
            raise JournalError(f"segment_rows must be >= 1, got {segment_rows}")
        self.directory = journal_dir(data_dir)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = self._acquire_lock()
        self._segment_rows = segment_rows
        self._fsync = fsync
        self.next_frame_id = self._recover_next_id()
        self._file: BinaryIO | None = None
        self._rows_in_segment = 0

    def _acquire_lock(self) -> BinaryIO:
        lock = open(self.directory / "LOCK", "a+b")  # noqa: SIM115 - held for the writer's life
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().decode(errors="replace").strip() or "unknown"
            lock.close()
            raise JournalLockedError(str(self.directory), holder) from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()}".encode())
        lock.flush()
        return lock

    def _recover_next_id(self) -> int:
        segments = list_segments(self.directory)
        if not segments:
            return 1
        last = segments[-1]
        highest = last.first_frame_id - 1
        for batch in read_segment(last):
            if batch.num_rows:
                highest = max(highest, pc.max(batch.column("frame_id")).as_py())
        return highest + 1

    def _open_segment(self, first_frame_id: int) -> None:
        path = segment_path(self.directory, first_frame_id, ".arrow")
        self._file = open(path, "wb")  # noqa: SIM115 - closed in _close_segment
        self._file.write(_SCHEMA_MESSAGE)
        self._rows_in_segment = 0
        self._sync()

    def _sync(self) -> None:
        assert self._file is not None
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())

    def append(self, records: Sequence[RawFrame]) -> list[RawFrame]:
        """Assign frame ids, write one batch, make it durable; returns the numbered records."""
        ids = self.write(records)
        self.sync()
        return [r.replace(frame_id=i) for r, i in zip(records, ids, strict=True)]

    def write(self, records: Sequence[RawFrame]) -> range:
        """Assign frame ids (the records' own are ignored) and write one batch, not yet
        durable: call ``sync`` before acknowledging. Readers may see the batch at once.
        Returns the ids given, in order."""
        return self.write_encoded(self.encode(records))

    def encode(self, records: Sequence[RawFrame]) -> EncodedBatch:
        """The records as one IPC batch message, numbered from ``next_frame_id``: the CPU
        half of ``write``, which a server runs on its event loop so that the thread calling
        ``write_encoded`` needs the GIL for almost nothing. Encode the next batch only after
        the previous one was written (its ids follow on)."""
        first = self.next_frame_id
        ids = range(first, first + len(records))
        if not records:
            return EncodedBatch(ids, b"")
        batch = to_batch(RawFrame, records, {"frame_id": pa.array(ids, type=pa.int64())})
        return EncodedBatch(ids, batch.serialize().to_pybytes())

    def write_encoded(self, encoded: EncodedBatch) -> range:
        """Write a batch made by ``encode`` (not yet durable, like ``write``)."""
        ids = encoded.ids
        if not ids:
            return ids
        if ids.start != self.next_frame_id:
            raise JournalError(f"batch numbered from {ids.start} but the journal is at "
                               f"{self.next_frame_id}: encode after the previous write")
        try:
            if self._file is None or self._rows_in_segment >= self._segment_rows:
                self._close_segment()
                self._open_segment(ids.start)
            assert self._file is not None
            self._file.write(encoded.payload)
            self._file.flush()
        except OSError as exc:
            self._fail(exc)
        self.next_frame_id = ids.stop
        self._rows_in_segment += len(ids)
        return ids

    def sync(self) -> None:
        """Make everything written so far durable (fsync). Safe to call from another thread
        while ``write`` runs: what ``write`` had returned before this call is covered."""
        file = self._file
        if file is None or not self._fsync:
            return
        try:
            os.fsync(file.fileno())
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def _fail(self, exc: Exception) -> None:
        self._abandon_segment()
        where = str(self.directory)
        raise JournalError(f"cannot write the journal in {where!r}: {exc}") from exc

    def _abandon_segment(self) -> None:
        """After a failed write (disk full, read-only): the segment may end torn, so the next
        append starts a new one; readers stop at the torn batch, which no one acknowledged."""
        try:
            if self._file is not None:
                self._file.close()
        except OSError:
            pass
        self._file = None

    def _close_segment(self) -> None:
        if self._file is not None:
            self._file.write(_END_OF_STREAM)
            self._sync()
            self._file.close()
        self._file = None

    def close(self) -> None:
        """Close the active segment and release the lock."""
        self._close_segment()
        self._lock.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def seal_segments(data_dir: str | os.PathLike[str], keep_open: int = 1) -> list[Path]:
    """Rewrite closed IPC segments as Parquet (atomic rename), newest ``keep_open`` left alone.

    Safe while the writer runs: it only ever appends to the newest segment. Readers see either
    the IPC file or the Parquet one, never a half-written file.
    """
    directory = journal_dir(data_dir)
    open_segments = [s for s in list_segments(directory) if not s.sealed]
    sealed: list[Path] = []
    for segment in open_segments[: max(0, len(open_segments) - keep_open)]:
        sealed.append(_seal(directory, segment))
    return sealed


def _seal(directory: Path, segment: Segment) -> Path:
    table = pa.Table.from_batches(list(read_segment(segment)), schema=SCHEMA)
    final = segment_path(directory, segment.first_frame_id, ".parquet")
    tmp = final.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    segment.path.unlink()
    return final
