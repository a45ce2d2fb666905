"""Tailing the journal: each poll reads only what is new, and a frame is never lost or repeated
while the writer appends (issue 15, item 4)."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pyarrow as pa

from canonical import RawFrame, from_table
from ingest.journal import JournalReader, JournalWriter
from ingest.journal.segments import DURABLE, journal_dir, list_segments
from tests.ingest.test_journal import frame_factory
from tests.reliability.figures import report


def bytes_read_by_this_process() -> int:
    """``rchar`` of /proc/self/io: every byte ``read()`` returned, however it was asked for."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def ids_of(batches: list) -> list[int]:  # type: ignore[type-arg]
    return [i for b in batches for i in b.column("frame_id").to_pylist()]


def test_polling_a_growing_segment_reads_each_byte_about_once(tmp_path: Path) -> None:
    reader = JournalReader(tmp_path)
    polled_bytes = 0
    with JournalWriter(tmp_path, fsync=False) as writer:
        for n in range(400):
            writer.append([frame_factory(10 * n + k) for k in range(10)])
            before = bytes_read_by_this_process()
            assert len(ids_of(reader.poll())) == 10
            polled_bytes += bytes_read_by_this_process() - before
        segment_bytes = list_segments(journal_dir(tmp_path))[-1].path.stat().st_size
    # Re-reading the whole segment on every poll read ~200x the segment here.
    report("test_polling_a_growing_segment_reads_each_byte_about_once",
           polled_bytes=polled_bytes, segment_bytes=segment_bytes, polls=400)
    assert polled_bytes < 2 * segment_bytes, (polled_bytes, segment_bytes)


def test_a_batch_half_written_is_read_once_when_complete(tmp_path: Path) -> None:
    """Readers stop at the writer's durable mark, always at a batch's end; a journal without
    one (an older writer's) is read to the end of the file, where a batch can be half there."""
    reader = JournalReader(tmp_path)
    with JournalWriter(tmp_path, fsync=False) as writer:
        writer.append([frame_factory(1)])
        assert ids_of(reader.poll()) == [1]
        (journal_dir(tmp_path) / DURABLE).unlink()
        segment = list_segments(journal_dir(tmp_path))[-1].path
        encoded = writer.encode([frame_factory(2), frame_factory(3)])
        with open(segment, "ab") as f:  # the writer's own bytes, in two pieces
            f.write(encoded.payload[:50])
            f.flush()
            assert reader.poll() == []
            f.write(encoded.payload[50:])
        assert ids_of(reader.poll()) == [2, 3]
        assert reader.poll() == []


def test_no_frame_lost_or_repeated_while_a_writer_appends(tmp_path: Path) -> None:
    rng = random.Random(15)
    sizes = [rng.randint(1, 40) for _ in range(500)]
    seen: list[int] = []
    reader = JournalReader(tmp_path)
    done = threading.Event()

    def append_all() -> None:
        with JournalWriter(tmp_path, segment_rows=700, fsync=False) as writer:
            for n, size in enumerate(sizes):
                writer.append([frame_factory(1000 * n + k) for k in range(size)])
        done.set()

    thread = threading.Thread(target=append_all)
    thread.start()
    while not done.is_set():
        seen += ids_of(reader.poll())
    thread.join()
    seen += ids_of(reader.poll())
    assert seen == list(range(1, sum(sizes) + 1))
    assert len(list_segments(journal_dir(tmp_path))) > 5  # it crossed segments while tailing


def test_frames_read_by_polling_equal_one_scan(tmp_path: Path) -> None:
    reader = JournalReader(tmp_path)
    polled: list[RawFrame] = []
    with JournalWriter(tmp_path, segment_rows=3, fsync=False) as writer:
        for i in range(1, 12):
            writer.append([frame_factory(i)])
            batches = reader.poll()
            polled += from_table(RawFrame, pa.Table.from_batches(batches)) if batches else []
    assert polled == JournalReader(tmp_path).frames()
