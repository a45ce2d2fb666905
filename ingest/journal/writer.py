"""Single-process journal writer: assigns frame ids, appends Arrow batches, fsyncs."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from canonical import RawFrame, to_batch
from canonical.errors import JournalError, JournalLockedError
from ingest.files import OS, FileLocked, FileSystem, make_dir, write_atomically
from ingest.journal.segments import (
    DURABLE,
    SCHEMA,
    DurableMark,
    Segment,
    journal_dir,
    list_segments,
    read_ipc_from,
    read_mark,
    read_segment,
    segment_path,
)
from ingest.journal.starts import (
    Start,
    StartCollector,
    StartIndex,
    coverage,
    index_path,
    write_index,
)

log = logging.getLogger("chargeline.journal")
# A segment is an Arrow IPC stream written by hand, byte for byte what
# ``pa.ipc.new_stream`` writes: the schema message, one message per batch, end-of-stream.
_SCHEMA_MESSAGE = SCHEMA.serialize().to_pybytes()
_END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


@dataclass(frozen=True, slots=True)
class EncodedBatch:
    """Records numbered ``ids``, packed as one Arrow IPC record-batch message, and the 1.6
    transaction starts answered among them (for the segment's ``.starts`` index)."""

    ids: range
    payload: bytes
    starts: tuple[Start, ...] = ()


class JournalWriter:
    """Appends records to ``<data_dir>/journal``; one writer per journal (enforced by a lock).

    ``append`` returns only once the records are on disk (fsync), so a caller may acknowledge
    them. Frame ids grow by one per record and continue across restarts. A restart never
    appends to an old segment (its tail may be torn): it opens a new one.

    Durability (``ingest.files`` states the rules): a new segment is named durably (directory
    fsync) before anything in it is acknowledged, so a power loss cannot drop a segment whose
    frames were acknowledged and hand their ids out again. Readers see only what is durable
    (``DurableMark``). A failed write or fsync rolls the journal back to its last sync: the
    segment is cut back to its durable bytes and the ids since are given again, so the frames
    of a failed append are never read by anyone (their senders were told they are not stored).
    All file access goes through ``fs`` (the power-loss test gives its own).
    """

    def __init__(self, data_dir: str | os.PathLike[str], segment_rows: int = 200_000,
                 fsync: bool = True, fs: FileSystem = OS) -> None:
        if segment_rows < 1:
            raise JournalError(f"segment_rows must be >= 1, got {segment_rows}")
        self.fs = fs
        self.directory = journal_dir(data_dir)
        try:
            make_dir(fs, self.directory)
        except OSError as exc:
            raise JournalError(f"cannot create {str(self.directory)!r}: {exc}") from exc
        self._lock = self._acquire_lock()
        self._segment_rows = segment_rows
        self._fsync = fsync
        self._fd: int | None = None
        self._segment = 0  # first frame id of the segment being written
        self._rows_in_segment = 0
        self._written = 0  # bytes of that segment written, of which ``_durable`` fsync'd
        self._durable = 0
        self._damaged = False  # a roll-back failed: nothing is written until one succeeds
        self._collector = StartCollector()
        self._starts: list[Start] = []  # answered in the segment being written
        self._highest_id = 0  # the highest transactionId in the journal before it
        self._newest_ns = 0
        try:
            self._mark = fs.open(self.directory / DURABLE)
            self.next_frame_id = self._recover()
        except OSError as exc:
            fs.close(self._lock)
            raise JournalError(f"cannot recover the journal in {str(self.directory)!r}: "
                               f"{exc}") from exc
        self.durable_next_id = self.next_frame_id

    @property
    def damaged(self) -> bool:
        """A failed write could not be cut off the segment: the journal refuses writes (and
        readers stop before the failed bytes) until a later attempt cuts it."""
        return self._damaged

    def _acquire_lock(self) -> int:
        try:
            return self.fs.lock(self.directory / "LOCK", f"pid {os.getpid()}")
        except FileLocked as exc:
            raise JournalLockedError(str(self.directory), exc.holder) from None

    def _recover(self) -> int:
        """The next frame id after the last complete batch. What a crash left of the last
        segment is made durable before the mark lets readers at it. Only the bytes after the
        mark are read (the mark is written after the fsync of what it covers, so what it
        covers is on disk): a start reads a few groups, not the whole last segment."""
        segments = list_segments(self.directory, self.fs)
        if not segments:
            self._publish(DurableMark(1, 0, 1))
            return 1
        last, mark = segments[-1], read_mark(self.directory, self.fs)
        highest, end = last.first_frame_id - 1, 0
        if last.sealed:
            batches = list(read_segment(last, self.fs))
        else:
            if mark is not None and mark.segment == last.first_frame_id and mark.offset:
                highest, end = max(highest, mark.next_frame_id - 1), mark.offset
            batches, end = read_ipc_from(last.path, end, fs=self.fs)
            self._sync_file(last.path)
        for batch in batches:
            if batch.num_rows:
                highest = max(highest, pc.max(batch.column("frame_id")).as_py())
        if self._fsync:
            self.fs.fsync_dir(self.directory)
        self._index_old_segments(segments)
        self._publish(DurableMark(last.first_frame_id, end, highest + 1))
        return highest + 1

    def _index_old_segments(self, segments: list[Segment]) -> None:
        """Index the segments after the newest whole ``.starts`` file: normally the one a
        crash left (its index still open); every segment of an older writer's journal, once.
        The index files from there on carry the highest id given before."""
        covered, carried = coverage(self.directory, self.fs)
        self._highest_id, self._newest_ns = carried.highest_id, carried.newest_ns
        for segment in segments:
            if segment.first_frame_id > covered:
                self._starts += StartCollector().feed_table(read_segment(segment, self.fs))
                self._write_starts(segment)

    def _sync_file(self, path: Path) -> None:
        if self._fsync:
            fd = self.fs.open(path)
            try:
                self.fs.fsync(fd)
            finally:
                self.fs.close(fd)

    def _publish(self, mark: DurableMark) -> None:
        self.fs.pwrite(self._mark, mark.pack(), 0)

    def _open_segment(self, first_frame_id: int) -> None:
        path = segment_path(self.directory, first_frame_id, ".arrow")
        self._fd = self.fs.open(path, truncate=True)
        self._segment, self._rows_in_segment = first_frame_id, 0
        self._written = self._durable = 0
        self._put(_SCHEMA_MESSAGE)
        if self._fsync:
            self.fs.fsync(self._fd)
            self.fs.fsync_dir(self.directory)  # else a power loss may drop the file whole
        self._durable = self._written
        # The open index: the newest segment, which retention never removes, carries the
        # highest transactionId given before it, whatever went before it.
        carried = StartIndex.of(self._starts, self._highest_id, self._newest_ns)
        write_index(self.fs, index_path(path), StartIndex(carried.highest_id,
                                                          carried.newest_ns, complete=False))
        self._publish(DurableMark(self._segment, self._durable, self.durable_next_id))

    def _put(self, data: bytes) -> None:
        assert self._fd is not None
        self.fs.pwrite(self._fd, data, self._written)
        self._written += len(data)

    def append(self, records: Sequence[RawFrame]) -> list[RawFrame]:
        """Assign frame ids, write one batch, make it durable; returns the numbered records."""
        ids = self.write(records)
        self.sync()
        return [r.replace(frame_id=i) for r, i in zip(records, ids, strict=True)]

    def write(self, records: Sequence[RawFrame]) -> range:
        """Assign frame ids (the records' own are ignored) and write one batch, not yet
        durable nor readable: call ``sync`` before acknowledging. Returns the ids given."""
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
        starts = tuple(self._collector.feed(records, first))
        return EncodedBatch(ids, batch.serialize().to_pybytes(), starts)

    def write_encoded(self, encoded: EncodedBatch) -> range:
        """Write a batch made by ``encode`` (not yet durable, like ``write``)."""
        ids = encoded.ids
        if not ids:
            return ids
        if ids.start != self.next_frame_id:
            raise JournalError(f"batch numbered from {ids.start} but the journal is at "
                               f"{self.next_frame_id}: encode after the previous write")
        try:
            self._repair()
            if self._fd is None or self._rows_in_segment >= self._segment_rows:
                self._close_segment()
                self._open_segment(ids.start)
            self._put(encoded.payload)
        except OSError as exc:
            self._fail(exc)
        self._starts.extend(encoded.starts)
        self.next_frame_id = ids.stop
        self._rows_in_segment += len(ids)
        return ids

    def sync(self) -> None:
        """Make everything written so far durable (fsync) and readable. Call it from the
        thread that writes. On failure (``JournalError``) everything since the last sync is
        gone: its ids will be given again."""
        if self._fd is None:
            return
        written, next_id = self._written, self.next_frame_id
        try:
            self._repair()
            if self._fsync:
                self.fs.fsync(self._fd)
            self._publish(DurableMark(self._segment, written, next_id))
        except (OSError, ValueError) as exc:
            self._fail(exc)
        self._durable, self.durable_next_id = written, next_id

    def _fail(self, exc: Exception) -> NoReturn:
        self._roll_back()
        where = str(self.directory)
        raise JournalError(f"cannot write the journal in {where!r}: {exc}") from exc

    def _roll_back(self) -> None:
        """Back to the last sync: the segment cut to its durable bytes (so no reader, now or
        after a restart, ever sees a batch whose write or fsync failed) and closed; the next
        write opens a new one. If even the cut fails, nothing is written until it succeeds:
        the mark still ends the segment at its durable bytes meanwhile."""
        self.next_frame_id = self.durable_next_id
        self._starts = [s for s in self._starts if s.frame_id < self.next_frame_id]
        if self._fd is None:
            return
        try:  # the last good mark again: a publish that failed may have half happened
            self._publish(DurableMark(self._segment, self._durable, self.durable_next_id))
            self.fs.truncate(self._fd, self._durable)
            if self._fsync:
                self.fs.fsync(self._fd)
        except OSError:
            self._damaged = True
            return
        self._damaged = False
        self._abandon_segment()

    def _repair(self) -> None:
        if self._damaged:
            self._roll_back()
            if self._damaged:
                raise OSError(f"segment {self._segment} cannot be cut back to its last sync")

    def _abandon_segment(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.fs.close(self._fd)
        self._fd = None

    def _close_segment(self) -> None:
        """End the segment (end-of-stream, fsync); everything in it is then durable."""
        if self._fd is None:
            return
        self._put(_END_OF_STREAM)
        if self._fsync:
            self.fs.fsync(self._fd)
        self._durable, self.durable_next_id = self._written, self.next_frame_id
        self._abandon_segment()
        self._write_starts(Segment(self._segment, segment_path(self.directory, self._segment,
                                                               ".arrow")))

    def _write_starts(self, segment: Segment) -> None:
        """The closed segment's ``.starts`` index. If the disk refuses it, its starts go
        into the next segment's index instead (a crash meanwhile: the next writer start
        indexes the segments newer than the newest index from their frames)."""
        index = StartIndex.of(self._starts, self._highest_id, self._newest_ns)
        try:
            write_index(self.fs, index_path(segment.path), index)
        except OSError as exc:
            log.warning("starts of %s left for the next index: %s", segment.path.name, exc)
            return
        self._highest_id, self._newest_ns, self._starts = index.highest_id, index.newest_ns, []

    def close(self) -> None:
        """Close the active segment (making it readable to its end) and release the lock."""
        try:
            self._repair()
            if self._fd is not None:
                self._close_segment()
                self._publish(DurableMark(self._segment, self._durable, self.durable_next_id))
        except OSError:
            self._roll_back()
            raise
        finally:
            self._abandon_segment()
            self.fs.close(self._mark)
            self.fs.close(self._lock)

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def seal_segments(data_dir: str | os.PathLike[str], keep_open: int = 1,
                  fs: FileSystem = OS) -> list[Path]:
    """Rewrite closed IPC segments as Parquet (atomic rename), newest ``keep_open`` left alone.

    Safe while the writer runs: it only ever appends to the newest segment. Readers see either
    the IPC file or the Parquet one, never a half-written file; the IPC file goes only once the
    Parquet one is named durably.
    """
    directory = journal_dir(data_dir)
    open_segments = [s for s in list_segments(directory, fs) if not s.sealed]
    sealed: list[Path] = []
    for segment in open_segments[: max(0, len(open_segments) - keep_open)]:
        sealed.append(_seal(directory, segment, fs))
    return sealed


def _seal(directory: Path, segment: Segment, fs: FileSystem) -> Path:
    table = pa.Table.from_batches(list(read_segment(segment, fs)), schema=SCHEMA)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    final = segment_path(directory, segment.first_frame_id, ".parquet")
    write_atomically(fs, final, sink.getvalue().to_pybytes())
    fs.unlink(segment.path)
    return final
