"""``chargeline uptime exclude|exclusions|remove`` and ``chargeline export uptime`` as a user
runs them (real processes, the hand-built fleet's warehouse)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]


def chargeline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chargeline", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_exclude_then_export_lists_it_and_takes_it_off(fleet_dir: Path, tmp_path: Path) -> None:
    data = str(fleet_dir)
    done = chargeline("uptime", "exclude", "CP1", "--data-dir", data, "--connector", "1",
                      "--from", "2026-01-01T11:00:00Z", "--to", "2026-01-01T11:10:00Z",
                      "--category", "maintenance", "--note", "=cmd|' /C calc'!A0")
    assert done.returncode == 0, done.stderr
    exclusion_id = done.stdout.strip()
    listed = [json.loads(line) for line in chargeline(
        "uptime", "exclusions", "--data-dir", data, "--json").stdout.splitlines()]
    assert [(e["exclusion_id"], e["category"], e["connector_id"]) for e in listed] == [
        (exclusion_id, "maintenance", 1)]
    out = tmp_path / "uptime.csv"
    done = chargeline("export", "uptime", "--data-dir", data, "--from", "2026-01-01",
                      "--to", "2026-01-01", "--output", str(out))
    assert done.returncode == 0, done.stderr
    rows = {r["charge_point_id"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"CP1", "CP2"}  # 2026-01-02 is outside --to
    assert float(rows["CP1"]["excluded_s"]) == 600 and float(rows["CP1"]["outage_s"]) == 2700
    assert rows["CP1"]["exclusions"] == f"{exclusion_id}:maintenance"
    [excluded] = list(csv.DictReader((tmp_path / "uptime.exclusions.csv").open()))
    assert excluded["regulation_text"] == "scheduled maintenance"
    assert excluded["note"].startswith("'=")  # a spreadsheet shows it, never runs it
    monthly = tmp_path / "m.parquet"
    assert chargeline("export", "uptime", "--data-dir", data, "--from", "2026-01-15",
                      "--to", "2026-01-15", "--period", "month", "--format", "parquet",
                      "--output", str(monthly)).returncode == 0
    assert sorted(pq.read_table(monthly).column("charge_point_id").to_pylist()) == ["CP1", "CP2"]
    assert chargeline("uptime", "remove", exclusion_id, "--data-dir", data).returncode == 0
    assert chargeline("uptime", "exclusions", "--data-dir", data).stdout == ""


def test_bad_input_is_named_and_nothing_written(fleet_dir: Path, tmp_path: Path) -> None:
    data = str(fleet_dir)
    done = chargeline("uptime", "exclude", "CP1", "--data-dir", data, "--from",
                      "2026-01-01 11:00", "--to", "2026-01-01T11:10:00Z", "--category", "utility")
    assert done.returncode == 2 and "'2026-01-01 11:00'" in done.stderr
    done = chargeline("uptime", "exclude", "CP1", "--data-dir", data, "--from",
                      "2026-01-01T12:00:00Z", "--to", "2026-01-01T11:00:00Z",
                      "--category", "utility")
    assert done.returncode == 2 and "at or before it starts" in done.stderr
    assert chargeline("uptime", "exclusions", "--data-dir", data).stdout == ""
    done = chargeline("export", "uptime", "--data-dir", data, "--from", "2026-01-02",
                      "--to", "2026-01-01", "--output", str(tmp_path / "x.csv"))
    assert done.returncode == 2 and "before --from" in done.stderr
    assert not list(tmp_path.glob("x*"))
