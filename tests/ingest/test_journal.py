from pathlib import Path

import pytest

from canonical import RawFrame
from canonical.errors import JournalLockedError
from ingest.journal import JournalReader, JournalWriter
from ingest.journal.segments import DURABLE, journal_dir, list_segments
from ingest.journal.writer import seal_segments


def frame_factory(i: int) -> RawFrame:
    raw = f'[2,"m{i}","Heartbeat",{{}}]'
    return RawFrame(0, 1_700_000_000_000_000_000 + i, "CP", "c1", "ocpp1.6", "in", "frame",
                    2, f"m{i}", "Heartbeat", raw, "ok")


def test_frame_ids_continue_across_restarts_and_segments(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, segment_rows=2) as w:
        assert [f.frame_id for f in w.append([frame_factory(1), frame_factory(2)])] == [1, 2]
        w.append([frame_factory(3)])
    with JournalWriter(tmp_path) as w:
        assert [f.frame_id for f in w.append([frame_factory(4)])] == [4]
    frames = JournalReader(tmp_path).frames()
    assert [f.frame_id for f in frames] == [1, 2, 3, 4]
    assert [f.raw for f in frames] == [frame_factory(i).raw for i in range(1, 5)]


def test_second_writer_is_refused_with_the_holder(tmp_path: Path) -> None:
    with JournalWriter(tmp_path), pytest.raises(JournalLockedError, match="pid"):
        JournalWriter(tmp_path)


def test_reader_tails_a_growing_segment_without_repeats(tmp_path: Path) -> None:
    reader = JournalReader(tmp_path)
    with JournalWriter(tmp_path) as w:
        assert reader.poll() == []
        w.append([frame_factory(1)])
        assert sum(b.num_rows for b in reader.poll()) == 1
        w.append([frame_factory(2), frame_factory(3)])
        assert sum(b.num_rows for b in reader.poll()) == 2
        assert reader.poll() == []
    assert reader.last_frame_id == 3


def test_torn_tail_is_ignored_and_next_writer_continues(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as w:
        w.append([frame_factory(1)])
        w.append([frame_factory(2)])
    segment = list_segments(journal_dir(tmp_path))[0].path
    data = segment.read_bytes()
    segment.write_bytes(data[:-20])  # a crash mid-write: the last batch is incomplete
    (journal_dir(tmp_path) / DURABLE).unlink()  # (an older writer's journal: no mark)
    assert [f.frame_id for f in JournalReader(tmp_path).frames()] == [1]
    with JournalWriter(tmp_path) as w:
        assert w.append([frame_factory(3)])[0].frame_id == 2


def test_an_id_readers_may_have_seen_is_never_given_again(tmp_path: Path) -> None:
    """The mark said frame 2 was durable (readers may have read it); if the disk then loses
    it anyway, its id stays spent: a gap, never a second frame 2."""
    with JournalWriter(tmp_path) as w:
        w.append([frame_factory(1)])
        w.append([frame_factory(2)])
    segment = list_segments(journal_dir(tmp_path))[0].path
    segment.write_bytes(segment.read_bytes()[:-20])
    with JournalWriter(tmp_path) as w:
        assert w.append([frame_factory(3)])[0].frame_id == 3


def test_sealed_segments_read_the_same(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, segment_rows=1) as w:
        for i in range(1, 4):
            w.append([frame_factory(i)])
    before = JournalReader(tmp_path).frames()
    sealed = seal_segments(tmp_path)
    assert len(sealed) == 2
    assert JournalReader(tmp_path).frames() == before
