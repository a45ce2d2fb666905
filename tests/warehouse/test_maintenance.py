"""Compaction under a concurrent reader, and retention that never touches sessions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from canonical.errors import ConfigError
from tests.warehouse.conftest import DAY, T0, Put, event, frame, session
from warehouse import catalog
from warehouse.layout import data_files, partitions
from warehouse.maintenance import compact, prune_frames


def _files(data_dir: Path, table: str) -> int:
    return sum(len(data_files(p)) for p in partitions(data_dir, table))


def test_compaction_under_a_concurrent_reader(data_dir: Path, put: Put) -> None:
    for i in range(40):  # 40 small files, a duplicate delivery every 4th
        put("events", [event(1000 + i * 10 + j) for j in range(10)])
        if i % 4 == 0:
            put("events", [event(1000 + i * 10 + j) for j in range(10)])
        put("sessions", [session(str(i))])
    catalog.ensure(data_dir)
    seen: list[tuple[int, float]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        con = catalog.connect(data_dir)
        sql = "select (select count(*) from events), (select sum(energy_kwh) from sessions)"
        while not stop.is_set():
            try:
                seen.append(tuple(catalog.query(con, data_dir, sql).to_pylist()[0].values()))
            except Exception as exc:  # the test's point: there must be none
                errors.append(exc)
        con.close()

    thread = threading.Thread(target=reader)
    thread.start()
    while len(seen) < 3:
        pass
    before = len(seen)
    report = compact(data_dir)
    after = len(seen)
    while len(seen) < after + 3:
        pass
    stop.set()
    thread.join()
    assert errors == []
    assert after > before  # the reader did read while compaction ran
    assert set(seen) == {(400, 280.0)}
    assert report.files_merged == 50 + 40 and report.files_written == 2
    assert _files(data_dir, "events") == 1 and _files(data_dir, "sessions") == 1


def test_compaction_keeps_exact_results_for_late_schema_files(data_dir: Path, put: Put,
                                                              rows) -> None:
    put("sessions", [session("1", version=1, status="active")])
    put("sessions", [session("1", version=2)])
    put("sessions", [session("1", version=2)])
    compact(data_dir)
    assert rows("select version, status from sessions") == [
        {"version": 2, "status": "completed"}]
    assert rows("select count(*) n from session_versions") == [{"n": 2}]


def test_prune_removes_old_frames_and_keeps_sessions(data_dir: Path, put: Put, rows) -> None:
    put("frames", [frame(i, received_at=T0 + d * DAY) for d, i in enumerate(range(1, 11))])
    put("sessions", [session(str(d), updated_at=T0 + d * DAY) for d in range(10)])
    now = datetime.fromtimestamp((T0 + 9 * DAY) / 1e9, tz=UTC)  # 2026-01-10
    removed = prune_frames(data_dir, older_than_days=3, now=now)
    assert removed == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05",
                       "2026-01-06"]
    assert rows("select min(frame_id) lo, count(*) n from frames") == [{"lo": 7, "n": 4}]
    assert rows("select count(*) n from sessions") == [{"n": 10}]


def test_prune_refuses_negative_days(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="-1"):
        prune_frames(data_dir, -1, datetime.now(UTC))
