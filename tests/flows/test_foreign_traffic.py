"""Traffic nobody here wrote, as a new user meets it: ``chargeline import`` the recording,
``chargeline replay``, read ``sessions``, ``finance_sessions`` and ``alerts``.

Fixtures (tests/data/frames/<case>/frames.jsonl, the conclusions beside them in
expected.json, each energy worked out by hand in its note): QUIRKS.md Q29-Q34 and 12 stations
of a widely used open-source station simulator recorded live against ``chargeline serve``
(/work/shared/data/real-client-sample.jsonl): per-transaction meters (Q15), ``Ended``
repeating the Begin sample and sent twice, duplicate stops at shutdown.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from warehouse import catalog

FRAMES = Path(__file__).parents[1] / "data" / "frames"
CASES = sorted(p.name for p in FRAMES.iterdir() if (p / "expected.json").exists())


def replayed(data: Path, case: str) -> Path:
    """One case imported into its own data dir and replayed (its own journal's end is the
    end of time: another case's later frames would make its live sessions stuck)."""
    subprocess.run([sys.executable, "-m", "chargeline", "import", "--data-dir", str(data),
                    str(FRAMES / case / "frames.jsonl")], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir", str(data)],
                   check=True, capture_output=True)
    catalog.ensure(data)
    return data


def _rows(data: Path, sql: str) -> list[dict[str, Any]]:
    return catalog.query(catalog.connect(data), data, sql).to_pylist()


@pytest.mark.parametrize("case", CASES)
def test_foreign_recording_is_billed_right(tmp_path: Path, case: str) -> None:
    warehouse = replayed(tmp_path, case)
    expected = json.loads((FRAMES / case / "expected.json").read_text())
    chargers = {s["charge_point_id"] for s in expected["sessions"]}
    quoted = ", ".join(f"'{c}'" for c in sorted(chargers))
    sessions = {(r["charge_point_id"], r["transaction_id"]): r for r in _rows(
        warehouse, f"select * from sessions where charge_point_id in ({quoted})")}
    billable = {(r["charge_point_id"], r["transaction_id"]): r["billable"] for r in _rows(
        warehouse, f"select * from finance_sessions where charge_point_id in ({quoted})")}
    alerts = {r["kind"] for r in _rows(
        warehouse, f"select kind from alerts where charge_point_id in ({quoted})")}
    for want in expected["sessions"]:
        key = (want["charge_point_id"], want["transaction_id"])
        got = sessions[key]
        assert (got["status"], got["energy_wh"]) == (want["status"], want["energy_wh"]), key
        if "billable" in want and want["status"] != "active":
            assert billable.get(key) == want["billable"], (key, got["flags"])
        assert not set(want.get("flags_absent", [])) & set(got["flags"]), (key, got["flags"])
        assert set(want.get("flags_present", [])) <= set(got["flags"]), (key, got["flags"])
    assert set(expected.get("alerts_present", [])) <= alerts
    assert not set(expected.get("alerts_absent", [])) & alerts, alerts
