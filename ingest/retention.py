"""Journal retention: seal closed segments (zstd Parquet), then archive or delete sealed ones
that are old and wholly taken downstream.

A segment goes only if all three hold:

1. it is sealed and not the newest — never the segment the writer appends to, nor the one
   it numbers new frames after;
2. its newest frame was received before the cutoff (``older_than_days`` before now);
3. every one of its frames is in the warehouse ``frames`` table, durably: the flow writes a
   frame there (fsync'd Parquet) before its snapshot moves past it. The journal keeps no
   "taken up to" mark of its own and ingest reads nothing downstream, so the caller passes
   ``taken(first, last)``, the number of distinct frame ids in ``[first, last]`` the warehouse
   holds, and a segment goes only when that equals its own frame count.

A segment that fails 3 stays, however old, until the flow has written it (a flow stopped for a
week keeps a week of journal); one whose frames the warehouse has pruned already stays too (it
cannot be shown taken any more) — prune the journal before the warehouse's frames.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from canonical.errors import ConfigError
from ingest.files import OsFileSystem
from ingest.journal.segments import Segment, journal_dir, list_segments
from ingest.journal.writer import seal_segments

_FILES = OsFileSystem()  # the ingest's one file layer (directory fsync)

Taken = Callable[[int, int], int]


@dataclass(frozen=True, slots=True)
class SegmentSpan:
    """What a sealed segment holds: frame ids, their count, the newest receive time (UTC ns)."""

    segment: Segment
    first_frame_id: int
    last_frame_id: int
    frames: int
    newest_received_ns: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class RetentionReport:
    sealed: int
    removed: list[SegmentSpan]
    kept_not_taken: list[SegmentSpan]
    archive: Path | None

    @property
    def bytes_removed(self) -> int:
        return sum(s.size_bytes for s in self.removed)


def sealed_spans(data_dir: Path) -> list[SegmentSpan]:
    """Every sealed segment's span (reads two columns of each Parquet file) but the newest
    segment's, sealed or not: a writer starting over an empty journal would number frames
    from 1 again."""
    spans = []
    for segment in list_segments(journal_dir(data_dir))[:-1]:
        if not segment.sealed:
            continue
        table = pq.read_table(segment.path, columns=["frame_id", "received_at"])
        if not table.num_rows:
            continue
        newest = pc.max(table.column("received_at").cast("int64")).as_py()
        spans.append(SegmentSpan(segment, pc.min(table.column("frame_id")).as_py(),
                                 pc.max(table.column("frame_id")).as_py(), table.num_rows,
                                 int(newest), segment.path.stat().st_size))
    return spans


def removable(spans: list[SegmentSpan], cutoff_ns: int,
              taken: Taken) -> tuple[list[SegmentSpan], list[SegmentSpan]]:
    """(segments that may go, old segments kept because the warehouse lacks some frame)."""
    old = [s for s in spans if s.newest_received_ns < cutoff_ns]
    go = [s for s in old if taken(s.first_frame_id, s.last_frame_id) >= s.frames]
    return go, [s for s in old if s not in go]


def prune_journal(data_dir: Path, older_than_days: int, now: datetime, taken: Taken,
                  archive: Path | None = None) -> RetentionReport:
    """Seal closed segments, then move (``archive``) or delete those that may go."""
    if older_than_days < 0:
        raise ConfigError(f"--older-than must be >= 0 days, got {older_than_days}")
    if now.tzinfo is None:
        raise ConfigError(f"now must be timezone-aware, got {now!r}")
    sealed = seal_segments(data_dir)
    cutoff_ns = int((now - timedelta(days=older_than_days)).timestamp() * 1e9)
    go, kept = removable(sealed_spans(data_dir), cutoff_ns, taken)
    if archive is not None:
        archive.mkdir(parents=True, exist_ok=True)
    for span in go:
        if archive is None:
            span.segment.path.unlink()
        else:
            _move_durably(span.segment.path, archive / span.segment.path.name)
    if go:
        _FILES.fsync_dir(journal_dir(data_dir))
    return RetentionReport(len(sealed), go, kept, archive)


def _move_durably(source: Path, target: Path) -> None:
    """Copy, fsync, then remove the source: a crash leaves the segment in one place or both,
    never in neither (``rename`` cannot cross file systems, where archives often live)."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)
    _FILES.fsync_dir(target.parent)
    source.unlink()
