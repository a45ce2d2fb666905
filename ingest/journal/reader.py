"""Reading the journal: all of it, from a frame id on, or tailing it as it grows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from canonical import RawFrame, from_table
from ingest.files import OS, FileSystem
from ingest.journal.segments import (
    SCHEMA,
    Segment,
    journal_dir,
    list_segments,
    read_ipc_from,
    read_mark,
    read_segment,
)


class JournalReader:
    """Reads frames with ``frame_id > after``. Never blocks or locks the writer.

    ``poll()`` returns the batches that became readable since the last call (tailing); it keeps
    the byte offset inside the growing segment, so each call costs only the new bytes. Only
    what the writer has made durable is readable (its ``DURABLE`` mark), so nothing read can
    vanish in a power loss or turn out to be a batch whose fsync failed.
    """

    def __init__(self, data_dir: str | os.PathLike[str], after: int = 0,
                 fs: FileSystem = OS) -> None:
        self.directory: Path = journal_dir(data_dir)
        self.last_frame_id = after
        self.fs = fs
        self._offsets: dict[int, int] = {}

    def poll(self) -> list[pa.RecordBatch]:
        """New complete batches (frame ids > last seen), in order; [] when nothing is new."""
        # The mark before the listing: a segment the listing shows past the mark's is one
        # the writer has not made durable yet (it publishes a new segment once created).
        mark = read_mark(self.directory, self.fs)
        out: list[pa.RecordBatch] = []
        segments = list_segments(self.directory, self.fs)
        for i, segment in enumerate(segments):
            if mark is not None and segment.first_frame_id > mark.segment:
                break
            nxt = segments[i + 1].first_frame_id if i + 1 < len(segments) else None
            if nxt is not None and nxt <= self.last_frame_id + 1:
                self._offsets.pop(segment.first_frame_id, None)  # read to its end
                continue
            end = mark.offset if mark and segment.first_frame_id == mark.segment else None
            out.extend(self._read_new(segment, end))
        return out

    def _read_new(self, segment: Segment, end: int | None) -> Iterator[pa.RecordBatch]:
        if segment.sealed:
            batches = list(read_segment(segment, self.fs))
        else:
            first = segment.first_frame_id
            batches, self._offsets[first] = read_ipc_from(
                segment.path, self._offsets.get(first, 0), end, self.fs)
        for batch in batches:
            fresh = self._after(batch)
            if fresh.num_rows:
                self.last_frame_id = pc.max(fresh.column("frame_id")).as_py()
                yield fresh

    def _after(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        ids = batch.column("frame_id")
        if batch.num_rows and pc.min(ids).as_py() > self.last_frame_id:
            return batch
        return batch.filter(pc.greater(ids, self.last_frame_id))

    def read_all(self) -> pa.Table:
        """Every frame after ``after`` as one table (resets nothing: it is a fresh scan)."""
        reader = JournalReader(self.directory.parent, self.last_frame_id, self.fs)
        return pa.Table.from_batches(reader.poll(), schema=SCHEMA)

    def frames(self) -> list[RawFrame]:
        """Every frame after ``after`` as records: convenient for tests and small journals."""
        return from_table(RawFrame, self.read_all())
