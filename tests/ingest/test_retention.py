"""Journal retention (issue 15, item 5): ``chargeline prune --journal`` seals closed segments
(zstd Parquet) and archives or deletes the old ones, but never one holding a frame the
warehouse's ``frames`` table lacks, and never the newest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from canonical import RawFrame
from chargeline.cli import main
from ingest.journal import JournalReader, JournalWriter
from ingest.journal.segments import journal_dir
from tests.reliability.figures import report
from warehouse.writer import WarehouseWriter

NOW = datetime.now(UTC)


def frame_factory(i: int, at: datetime) -> RawFrame:
    raw = (f'[2,"m{i}","MeterValues",{{"connectorId":1,"meterValue":[{{"timestamp":'
           f'"{at.isoformat()}","sampledValue":[{{"value":"{1000 + i}"}}]}}]}}]')
    return RawFrame(0, int(at.timestamp() * 1e9) + i, f"CP-{i % 7}", "c1", "ocpp1.6", "in",
                    "frame", 2, f"m{i}", "MeterValues", raw, "ok")


def ids(table: pa.Table) -> set[int]:
    return set(table.column("frame_id").to_pylist())


def test_prune_journal_keeps_every_frame_the_warehouse_lacks(tmp_path: Path) -> None:
    """Six segments of 100 frames: five 40 days old, the newest recent. The warehouse holds
    segments 1, 2 and 4 whole, segment 3 but for one frame in its middle (a max-frame-id rule
    would take it as written), nothing of 5. Pruning at 30 days archives 1, 2 and 4 only."""
    old = NOW - timedelta(days=40)
    with JournalWriter(tmp_path, segment_rows=100) as writer:
        for n in range(5):
            writer.append([frame_factory(100 * n + i, old) for i in range(100)])
        writer.append([frame_factory(500 + i, NOW) for i in range(100)])
    journal = JournalReader(tmp_path).read_all()
    assert ids(journal) == set(range(1, 601))
    in_warehouse = (set(range(1, 201)) | set(range(201, 301)) - {250} | set(range(301, 401))
                    | set(range(501, 601)))
    WarehouseWriter(tmp_path).write("frames", journal.filter(
        pc.is_in(journal.column("frame_id"), pa.array(sorted(in_warehouse)))))
    arrow_bytes = sum(p.stat().st_size for p in sorted(journal_dir(tmp_path).glob("*.arrow"))[:-1])

    archive = tmp_path / "archive"
    assert main(["prune", "--data-dir", str(tmp_path), "--older-than", "30", "--journal",
                 "--archive", str(archive)]) == 0

    kept = JournalReader(tmp_path).read_all()
    archived = pa.concat_tables(pq.read_table(p) for p in sorted(archive.glob("*.parquet")))
    assert ids(archived) == set(range(1, 201)) | set(range(301, 401))
    assert ids(kept) == set(range(201, 301)) | set(range(401, 601))
    assert set(range(1, 601)) - in_warehouse <= ids(kept)  # nothing not taken has gone
    assert archived.sort_by("frame_id").equals(journal.filter(pc.is_in(
        journal.column("frame_id"), pa.array(sorted(ids(archived))))).sort_by("frame_id"))
    with JournalWriter(tmp_path) as writer:  # numbering goes on after what was pruned
        assert writer.append([frame_factory(0, NOW)])[0].frame_id == 601
    sealed_bytes = sum(p.stat().st_size for p in journal_dir(tmp_path).glob("*.parquet"))
    sealed_bytes += sum(p.stat().st_size for p in archive.glob("*.parquet"))
    report("test_prune_journal_keeps_every_frame_the_warehouse_lacks",
           arrow_bytes=arrow_bytes, sealed_parquet_bytes=sealed_bytes,
           compression=round(arrow_bytes / sealed_bytes, 1))


def test_prune_journal_without_a_warehouse_removes_nothing(tmp_path: Path) -> None:
    old = NOW - timedelta(days=40)
    with JournalWriter(tmp_path, segment_rows=10) as writer:
        for n in range(3):
            writer.append([frame_factory(10 * n + i, old) for i in range(10)])
    assert main(["prune", "--data-dir", str(tmp_path), "--older-than", "1", "--journal"]) == 0
    assert ids(JournalReader(tmp_path).read_all()) == set(range(1, 31))
