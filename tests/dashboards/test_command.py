"""``chargeline dashboard``'s command line, and the export bytes behind its download buttons."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from chargeline.cli import main
from chargeline.commands.dashboard import APP, streamlit_argv


def test_streamlit_runs_the_entry_headless_with_the_data_dir(tmp_path: Path) -> None:
    argv = streamlit_argv(tmp_path, 8600, "0.0.0.0")
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4] == str(APP)
    assert argv[argv.index("--server.port") + 1] == "8600"
    assert argv[argv.index("--server.address") + 1] == "0.0.0.0"
    assert argv[argv.index("--server.headless") + 1] == "true"
    assert argv[-3:] == ["--", "--data-dir", str(tmp_path)]


def test_a_bad_port_is_one_clear_error(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--data-dir", str(tmp_path), "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err


def test_finance_exports_are_the_billed_sessions(warehouse: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboards import data

    monkeypatch.setenv("CHARGELINE_DATA_DIR", str(warehouse))
    first, last = date(2025, 12, 1), date(2026, 1, 31)
    csv = pacsv.read_csv(io.BytesIO(data.finance_export(first, last, "csv"))).to_pylist()
    parquet = pq.read_table(io.BytesIO(data.finance_export(first, last, "parquet"))).to_pylist()
    assert {r["session_id"]: r["energy_wh"] for r in csv} == {
        "CP2/0": 1500.0, "CP2/3": 4200.0, "CP1/1": 7000.0, "CP1/2": 12345.0}
    assert [r["session_id"] for r in parquet] == [r["session_id"] for r in csv]
    assert {r["session_id"] for r in csv if not r["billable"]} == {"CP1/2"}


def test_the_reconciliation_csv_download_escapes_formulas_as_the_cli_does(
        warehouse_factory: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    from dashboards import data
    from tests.warehouse.conftest import session
    from tests.warehouse.test_commands import HOSTILE

    hostile = warehouse_factory({"sessions": [session(str(i), id_tag=tag)
                                              for i, tag in enumerate(HOSTILE)]})
    monkeypatch.setenv("CHARGELINE_DATA_DIR", str(hostile))
    day = date(2026, 1, 1)
    downloaded = data.finance_export(day, day, "csv")
    rows = list(csv.DictReader(io.StringIO(downloaded.decode(), newline="")))
    assert sorted(r["id_tag"] for r in rows) == sorted("'" + t for t in HOSTILE)
    assert main(["export", "finance", "--data-dir", str(hostile), "--from", "2026-01-01",
                 "--to", "2026-01-01", "--output", str(tmp_path / "cli.csv")]) == 0
    assert (tmp_path / "cli.csv").read_bytes() == downloaded
    parquet = pq.read_table(io.BytesIO(data.finance_export(day, day, "parquet")))
    assert sorted(parquet["id_tag"].to_pylist()) == sorted(HOSTILE)


def test_the_timeline_download_escapes_formulas(warehouse_factory: Callable[..., Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboards import data
    from tests.dashboards.conftest import fleet_records
    from tests.warehouse.conftest import frame

    records = fleet_records()
    records["frames"].append(frame(9, action="=cmd|' /C calc'!A0", raw="@SUM(1+1)"))
    monkeypatch.setenv("CHARGELINE_DATA_DIR", str(warehouse_factory(records)))
    rows = list(csv.DictReader(io.StringIO(data.csv_download(data.timeline("CP1/1")).decode(),
                                           newline="")))
    assert {"'=cmd|' /C calc'!A0", "StopTransaction"} <= {r["action"] for r in rows}
    assert "'@SUM(1+1)" in {r["raw"] for r in rows}
