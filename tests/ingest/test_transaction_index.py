"""1.6 transaction ids at a server start: from the journal's per-segment index of starts, not
from the journal; the registry bounded by count and age, whatever an idTag's size (issue 15,
item 3). The same-id-across-restarts promise itself: test_transactions.py (real server)."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import orjson

from canonical import RawFrame
from ingest.files import OS
from ingest.journal import JournalWriter
from ingest.journal.segments import journal_dir, list_segments
from ingest.journal.starts import SUFFIX, StartIndex, read_index
from ingest.transactions import TransactionRegistry
from tests.ingest.test_journal import frame_factory
from tests.ingest.test_journal_tail import bytes_read_by_this_process
from tests.reliability.figures import report

DAY_NS = 86_400 * 10**9
T0 = 1_767_225_600_000_000_000  # 2026-01-01


def payload(n: int, id_tag: str = "TAG") -> dict[str, object]:
    return {"connectorId": 1, "idTag": id_tag, "timestamp": f"2026-01-01T00:00:{n % 60:02d}Z",
            "meterStart": n}


def start_pair(n: int, tx_id: int, cp: str = "CP-1", at_ns: int = T0) -> list[RawFrame]:
    """A 1.6 StartTransaction and the CALLRESULT that gave it ``tx_id``, as the ingest
    journals them."""
    call = orjson.dumps([2, f"s{n}", "StartTransaction", payload(n)]).decode()
    result = orjson.dumps([3, f"s{n}", {"transactionId": tx_id,
                                        "idTagInfo": {"status": "Accepted"}}]).decode()
    return [RawFrame(0, at_ns, cp, f"c{n}", "ocpp1.6", "in", "frame", 2, f"s{n}",
                     "StartTransaction", call, "ok"),
            RawFrame(0, at_ns, cp, f"c{n}", "ocpp1.6", "out", "frame", 3, f"s{n}",
                     "StartTransaction", result, "ok")]


def write_history(data_dir: Path, frames: int, starts: int, segment_rows: int) -> None:
    """``frames`` heartbeats with ``starts`` answered starts among them (start n got id n)."""
    every = frames // starts
    with JournalWriter(data_dir, segment_rows=segment_rows, fsync=False) as writer:
        for n in range(1, starts + 1):
            writer.write([frame_factory(i) for i in range(every)] + start_pair(n, n))
        writer.sync()


def journal_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in journal_dir(data_dir).iterdir())


def test_a_start_reads_the_index_not_the_journal(tmp_path: Path) -> None:
    write_history(tmp_path, frames=120_000, starts=300, segment_rows=10_000)
    before = bytes_read_by_this_process()
    registry = TransactionRegistry.from_journal(tmp_path)
    read = bytes_read_by_this_process() - before
    size = journal_bytes(tmp_path)
    report("test_a_start_reads_the_index_not_the_journal", journal_bytes=size, read_bytes=read,
           segments=len(list_segments(journal_dir(tmp_path))))
    assert read < size / 100, (read, size)  # reading the journal read all of it
    assert [registry.assign("CP-1", payload(n)) for n in (1, 150, 300)] == [
        (1, True), (150, True), (300, True)]
    assert registry.assign("CP-1", payload(301)) == (301, False)


def test_a_journal_without_indexes_is_indexed_at_the_next_writer_start(tmp_path: Path) -> None:
    write_history(tmp_path, frames=2_000, starts=40, segment_rows=300)
    indexes = sorted(journal_dir(tmp_path).glob(f"*{SUFFIX}"))
    assert len(indexes) == len(list_segments(journal_dir(tmp_path)))
    for index in indexes:  # as an older writer left it
        index.unlink()
    JournalWriter(tmp_path).close()
    assert sorted(journal_dir(tmp_path).glob(f"*{SUFFIX}")) == indexes
    registry = TransactionRegistry.from_journal(tmp_path)
    assert [registry.assign("CP-1", payload(n))[0] for n in range(1, 41)] == list(range(1, 41))


def test_the_segment_a_crash_left_open_is_indexed_at_restart(tmp_path: Path) -> None:
    crash = ("import os, sys; from ingest.journal import JournalWriter; "
             "from tests.ingest.test_transaction_index import start_pair; "
             "JournalWriter(sys.argv[1]).append(start_pair(1, 7)); os._exit(0)")
    subprocess.run([sys.executable, "-c", crash, str(tmp_path)], check=True)  # never closed
    (index,) = journal_dir(tmp_path).glob(f"*{SUFFIX}")
    assert read_index(OS, index) == StartIndex(0, 0, b"", complete=False)  # as it opened
    with JournalWriter(tmp_path):
        registry = TransactionRegistry.from_journal(tmp_path)
    assert registry.assign("CP-1", payload(1)) == (7, True)
    assert registry.assign("CP-1", payload(2)) == (8, False)


def test_ids_never_repeat_when_old_segments_and_their_indexes_are_gone(tmp_path: Path) -> None:
    write_history(tmp_path, frames=3_000, starts=60, segment_rows=500)
    segments = list_segments(journal_dir(tmp_path))
    for segment in segments[:-2]:  # retention took all but the newest two
        segment.path.unlink()
        segment.path.with_suffix(SUFFIX).unlink()
    registry = TransactionRegistry.from_journal(tmp_path)
    assert registry.assign("CP-1", payload(1)) == (61, False)  # forgotten, but a new id


def test_ids_never_repeat_when_only_the_segment_being_written_is_left(tmp_path: Path) -> None:
    """A crash while the newest segment holds no start yet, everything before it gone: its
    index, written open as the segment opened, still carries the highest id."""
    crash = ("import os, sys; from ingest.journal import JournalWriter; "
             "from tests.ingest.test_transaction_index import start_pair; "
             "from tests.ingest.test_journal import frame_factory; "
             "w = JournalWriter(sys.argv[1], segment_rows=10); "
             "[w.append(start_pair(n, n)) for n in range(1, 31)]; "
             "w.append([frame_factory(i) for i in range(10)]); os._exit(0)")
    subprocess.run([sys.executable, "-c", crash, str(tmp_path)], check=True)
    segments = list_segments(journal_dir(tmp_path))
    for segment in segments[:-1]:
        segment.path.unlink()
        segment.path.with_suffix(SUFFIX).unlink()
    with JournalWriter(tmp_path):
        registry = TransactionRegistry.from_journal(tmp_path)
    assert registry.assign("CP-1", payload(1)) == (31, False)


def test_the_registry_is_bounded_by_count_oldest_forgotten_first() -> None:
    registry = TransactionRegistry(max_keys=1_000)
    ids = [registry.assign("CP-1", payload(n), T0 + n)[0] for n in range(5_000)]
    assert ids == list(range(1, 5_001))
    assert len(registry) <= 1_100
    assert registry.assign("CP-1", payload(4_999), T0) == (5_000, True)  # recent: kept
    assert registry.assign("CP-1", payload(0), T0) == (5_001, False)  # oldest: forgotten


def test_the_registry_forgets_starts_older_than_31_days() -> None:
    registry = TransactionRegistry()
    registry.assign("CP-1", payload(0), T0)
    registry.assign("CP-1", payload(1), T0 + 20 * DAY_NS)
    for n in range(2, 40):
        registry.assign("CP-1", payload(n), T0 + 32 * DAY_NS)
    assert registry.assign("CP-1", payload(1), T0 + 32 * DAY_NS) == (2, True)
    assert registry.assign("CP-1", payload(0), T0 + 32 * DAY_NS) == (41, False)


def test_a_1_mib_id_tag_costs_the_registry_a_digest() -> None:
    registry = TransactionRegistry()
    huge = [payload(n, id_tag=f"{n:04d}" + "x" * 2**20) for n in range(40)]
    tracemalloc.start()
    try:
        for p in huge:
            registry.assign("CP-1", p, T0)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    report("test_a_1_mib_id_tag_costs_the_registry_a_digest", keys=len(registry),
           held_bytes=held)
    assert held < 64 * 1024, held  # the keys themselves held 40 MiB
    assert registry.assign("CP-1", huge[3], T0) == (4, True)
