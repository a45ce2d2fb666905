"""``chargeline import`` is all-or-nothing: every line is checked before anything is written,
a refusal names the line and the bad value, and the file is streamed, not held (issue 15,
item 8). In-process (``chargeline.cli.main``): the same code as the command, without a
process start per case."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import orjson
import pytest

from canonical.raw import ns_to_rfc3339
from chargeline.cli import main
from tests.ingest.conftest import journal_frames
from tests.reliability.figures import report

DAY_NS = 86_400 * 10**9


def line(ts: str = "2026-01-01T00:00:00Z", cp: object = "CP-1", protocol: object = "ocpp1.6",
         n: int = 0, pad: int = 0) -> bytes:
    frame = [2, f"m{n}", "Heartbeat", {"pad": "x" * pad} if pad else {}]
    return orjson.dumps({"ts": ts, "charge_point_id": cp, "protocol": protocol,
                         "direction": "in", "frame": frame}) + b"\n"


def import_file(tmp_path: Path, lines: list[bytes] | None = None) -> int:
    source = tmp_path / "in.jsonl"
    if lines is not None:
        source.write_bytes(b"".join(lines))
    return main(["import", "--data-dir", str(tmp_path / "d"), str(source)])


def test_a_bad_timestamp_past_the_first_chunks_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = [line(n=i) for i in range(25_000)]  # more than two chunks of the writer
    code = import_file(tmp_path, [*good, line(ts="2300-01-01T00:00:00Z", n=25_000)])
    assert code == 2
    err = capsys.readouterr().err
    assert "line 25001" in err and "2300-01-01T00:00:00Z" in err
    assert journal_frames(tmp_path / "d") == []  # a rerun of a fixed file duplicates nothing


@pytest.mark.parametrize(("bad", "field", "shown"), [
    (line(cp="../../x\n=cmd"), "charge_point_id", "'../../x\\n=cmd'"),
    (line(cp="CP-A\n"), "charge_point_id", "'CP-A\\n'"),
    (line(cp="a" * 49), "charge_point_id", "'" + "a" * 49 + "'"),
    (line(cp=""), "charge_point_id", "''"),
    (line(protocol="ocpp9"), "protocol", "'ocpp9'"),
    (line(protocol=None), "protocol", "None"),
    (line(ts="1999-12-31T23:59:59Z"), "ts", "1999-12-31T23:59:59Z"),
    (line(ts="not a time"), "ts", "'not a time'"),
])
def test_each_bad_field_is_refused_with_its_line_and_value(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: bytes, field: str,
        shown: str) -> None:
    assert import_file(tmp_path, [line(n=1), line(n=2), bad, line(n=4)]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and field in err and shown in err, err
    assert journal_frames(tmp_path / "d") == []


def test_a_time_more_than_a_day_ahead_is_refused_an_hour_ahead_is_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time_ns()
    ahead = ns_to_rfc3339(now + 2 * DAY_NS)
    assert import_file(tmp_path, [line(n=1), line(ts=ahead, n=2)]) == 2
    assert f"line 2: ts {ahead}" in capsys.readouterr().err
    assert journal_frames(tmp_path / "d") == []
    soon = ns_to_rfc3339(now + 3600 * 10**9)
    assert import_file(tmp_path, [line(n=1), line(ts=soon, n=2)]) == 0
    assert [f.message_id for f in journal_frames(tmp_path / "d")] == ["m1", "m2"]


def test_the_file_is_streamed_not_held(tmp_path: Path) -> None:
    with open(tmp_path / "in.jsonl", "wb") as f:
        for i in range(12_000):
            f.write(line(n=i, pad=2_500))
    file_bytes = (tmp_path / "in.jsonl").stat().st_size
    tracemalloc.start()
    try:
        assert import_file(tmp_path) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    report("test_the_file_is_streamed_not_held", file_mib=round(file_bytes / 2**20, 1),
           peak_mib=round(peak / 2**20, 1))
    assert len(journal_frames(tmp_path / "d")) == 12_000
    # Holding every record (as before) peaked above 2x the file; a chunk at a time holds
    # a few MiB whatever the file's size.
    assert peak < file_bytes / 2, (peak, file_bytes)
