"""The simulator against the real ingest server, its truth file, and the scorer."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import orjson

from ingest.journal import JournalReader
from sim.fleet import run_fleet
from sim.plan import FAULTS, plan_fleet
from sim.score import score


def test_plan_is_deterministic_and_spreads_vendors_and_faults() -> None:
    one, two = plan_fleet(5, 40, 86_400), plan_fleet(5, 40, 86_400)
    assert [(p.charge_point_id, p.sessions, p.fault) for p in one] == \
        [(p.charge_point_id, p.sessions, p.fault) for p in two]
    assert {p.profile.protocol for p in one} == {"ocpp1.6", "ocpp2.0.1"}
    assert {p.fault for p in one if p.fault} == set(FAULTS)
    energies = [s.energy_wh for p in one for s in p.sessions]
    assert len(energies) > 100 and 3_000 < sorted(energies)[len(energies) // 2] < 15_000


def test_small_fleet_against_the_real_server(tmp_path: Path) -> None:
    from ingest.config import ServerConfig
    from ingest.server import CentralSystem

    async def scenario() -> None:
        config = ServerConfig(host="127.0.0.1", port=0, data_dir=tmp_path)
        async with CentralSystem(config) as server:
            url = f"ws://127.0.0.1:{server.port}/ocpp"
            await run_fleet(url, 10, 8.0, 11, "duplicate_stop,phantom_transaction", 2000.0,
                            tmp_path / "truth.jsonl")

    asyncio.run(scenario())
    frames = JournalReader(tmp_path).frames()
    boots = {f.charge_point_id for f in frames if f.action == "BootNotification"}
    assert len(boots) == 10
    assert {f.protocol for f in frames} == {"ocpp1.6", "ocpp2.0.1"}
    truth = [orjson.loads(line) for line in (tmp_path / "truth.jsonl").read_bytes().splitlines()]
    sessions = [t for t in truth if t["type"] == "session"]
    assert sessions and all(s["energy_wh"] > 0 and s["stopped_at"] >= s["started_at"]
                            for s in sessions)
    assert {t["kind"] for t in truth if t["type"] == "fault"} <= set(FAULTS)
    subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir", str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    out = subprocess.run([sys.executable, "-m", "chargeline", "score", "--data-dir",
                          str(tmp_path), "--truth", str(tmp_path / "truth.jsonl"), "--json"],
                         check=True, capture_output=True, timeout=60, text=True)
    report = json.loads(out.stdout)
    assert report["sessions"]["matched"] == report["sessions"]["expected"] == len(sessions)
    assert abs(report["energy_error_pct"]) < 1.0
    assert set(report) == {"detectors", "sessions", "energy_error_wh", "energy_error_pct"}


def _truth(*faults: tuple[str, str, str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [{"type": "charger", "charge_point_id": cp}
                                      for cp in ("A", "B")]
    rows += [{"type": "fault", "kind": k, "charge_point_id": cp, "at": at, "transaction_id": None}
             for k, cp, at in faults]
    rows += [{"type": "session", "charge_point_id": "A", "transaction_id": "1",
              "energy_wh": 1000.0}, {"type": "session", "charge_point_id": "B",
                                     "transaction_id": "2", "energy_wh": 3000.0}]
    return rows


def test_scorer_on_known_answers() -> None:
    truth = _truth(("stuck_session", "A", "2024-05-01T10:00:00Z"),
                   ("stuck_session", "B", "2024-05-01T10:00:00Z"),
                   ("duplicate_stop", "A", "2024-05-01T11:00:00Z"))
    alerts = [{"kind": "stuck_session", "charge_point_id": "A",
               "detected_at": "2024-05-01T10:30:00Z"},
              {"kind": "duplicate_stop", "charge_point_id": "A",
               "detected_at": "2024-05-01T11:00:00Z"},
              {"kind": "duplicate_stop", "charge_point_id": "B",  # a false alarm
               "detected_at": "2024-05-01T11:00:00Z"},
              {"kind": "stuck_session", "charge_point_id": "Z",  # not in this fleet
               "detected_at": "2024-05-01T10:00:00Z"}]
    sessions = [{"charge_point_id": "A", "transaction_id": "1", "energy_wh": 1010.0},
                {"charge_point_id": "B", "transaction_id": "2", "energy_wh": 3000.0}]
    report = score(truth, sessions, alerts)
    stuck, dup = report["detectors"]["stuck_session"], report["detectors"]["duplicate_stop"]
    assert (stuck["precision"], stuck["recall"], stuck["delay_s_p50"]) == (1.0, 0.5, 1800.0)
    assert (dup["precision"], dup["recall"]) == (0.5, 1.0)
    assert report["sessions"] == {"expected": 2, "found": 2, "matched": 2}
    assert report["energy_error_wh"] == 10.0 and report["energy_error_pct"] == 0.25
