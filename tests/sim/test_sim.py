"""The simulator against the real ingest server, its truth file, and the scorer."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from canonical.enums import AlertKind
from chargeline.ports import free_port, wait_listening
from ingest.journal import JournalReader
from sim.fleet import run_fleet
from sim.plan import FAULTS, ChargerPlan, plan_fleet
from sim.profiles import CLIENT_PROFILES, PROFILE_NAMES, fits
from sim.score import score


def _content(plans: list[ChargerPlan]) -> list[tuple[Any, ...]]:
    return [(p.charge_point_id, p.sessions, p.fault, p.fault_session, p.profiles, p.zone)
            for p in plans]


def test_plan_is_deterministic_and_spreads_vendors_faults_and_profiles() -> None:
    one, two = plan_fleet(5, 45, 86_400), plan_fleet(5, 45, 86_400)
    assert _content(one) == _content(two)
    assert _content(one) != _content(plan_fleet(6, 45, 86_400))
    assert {p.vendor.protocol for p in one} == {"ocpp1.6", "ocpp2.0.1"}
    assert {p.fault for p in one if p.fault} == set(FAULTS)
    assert set(FAULTS.values()) <= {k.value for k in AlertKind}
    assert {name for p in one for name in p.profiles} == set(PROFILE_NAMES)
    for p in one:  # each profile on a protocol it exists in, not blurring a vendor quirk
        assert all(fits(name, p.vendor) for name in p.profiles)
        assert all(p.vendor.protocol in CLIENT_PROFILES[n].protocols for n in p.profiles)
    assert 0 < sum(1 for p in one if not p.profiles) < len(one) // 3
    energies = [s.energy_wh for p in one for s in p.sessions]
    assert len(energies) > 100 and 3_000 < sorted(energies)[len(energies) // 2] < 15_000


def test_session_power_is_real_and_covers_its_energy() -> None:
    sessions = [(p.dc, s) for p in plan_fleet(5, 60, 86_400) for s in p.sessions]
    ac = sorted(s.power_w for dc, s in sessions if not dc)
    dc = sorted(s.power_w for dc, s in sessions if dc)
    assert ac[0] >= 1_400 and ac[-1] <= 22_000 and 2_500 < ac[len(ac) // 2] < 8_000
    assert dc[0] >= 10_000 and dc[-1] <= 50_000 and len(dc) > 10
    assert all(0 < s.charging_share <= 1 for _, s in sessions)  # power x time covers energy


def test_profiles_only_and_faults_only_plans() -> None:
    quiet = plan_fleet(5, 30, 86_400, faults=())
    assert not any(p.fault for p in quiet) and any(p.profiles for p in quiet)
    bare = plan_fleet(5, 30, 86_400, profiles=())
    assert not any(p.profiles for p in bare) and any(p.fault for p in bare)
    assert [p.sessions for p in bare] != [p.sessions for p in quiet]  # DC chargers differ


def test_small_fleet_against_the_real_server(tmp_path: Path) -> None:
    from ingest.config import ServerConfig
    from ingest.server import CentralSystem

    async def scenario() -> None:
        config = ServerConfig(host="127.0.0.1", port=0, data_dir=tmp_path)
        async with CentralSystem(config) as server:
            url = f"ws://127.0.0.1:{server.port}/ocpp"
            await run_fleet(url, 10, 8.0, 11, "duplicate_stop,phantom_transaction", 2000.0,
                            tmp_path / "truth.jsonl", settle=2.0)

    asyncio.run(scenario())
    frames = JournalReader(tmp_path).frames()
    boots = {f.charge_point_id for f in frames if f.action == "BootNotification"}
    assert len(boots) == 10
    assert {f.protocol for f in frames} == {"ocpp1.6", "ocpp2.0.1"}
    truth = [orjson.loads(line) for line in (tmp_path / "truth.jsonl").read_bytes().splitlines()]
    sessions = [t for t in truth if t["type"] == "session"]
    assert sessions and all(s["energy_wh"] >= 0 and s["stopped_at"] >= s["started_at"]
                            for s in sessions)
    assert {t["fault"] for t in truth if t["type"] == "fault"} <= set(FAULTS)
    subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir", str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    out = subprocess.run([sys.executable, "-m", "chargeline", "score", "--data-dir",
                          str(tmp_path), "--truth", str(tmp_path / "truth.jsonl"), "--json"],
                         check=True, capture_output=True, timeout=60, text=True)
    report = json.loads(out.stdout)
    assert report["sessions"]["matched"] == report["sessions"]["expected"] == len(sessions)
    assert abs(report["energy_error_pct"]) < 1.0
    assert set(report) == {"detectors", "sessions", "energy_error_wh", "energy_error_pct",
                           "protocols", "billing"}
    assert report["billing"]["all"]["expected"] == len(sessions)


def _truth(*faults: tuple[str, str, str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [{"type": "charger", "charge_point_id": cp}
                                      for cp in ("A", "B")]
    rows += [{"type": "fault", "kind": k, "charge_point_id": cp, "at": at, "transaction_id": None}
             for k, cp, at in faults]
    rows += [{"type": "session", "charge_point_id": "A", "transaction_id": "1",
              "energy_wh": 1000.0, "profiles": ["ended_twice"], "fault": None},
             {"type": "session", "charge_point_id": "B", "transaction_id": "2",
              "energy_wh": 3000.0, "profiles": [], "fault": None}]
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


def test_one_alert_matches_one_fault() -> None:
    """Three back-filled late stops on one charger, one alert: recall 1/3, not 3/3."""
    truth = _truth(*(("late_stop", "A", "2024-05-01T10:00:00Z") for _ in range(3)))
    alerts = [{"kind": "late_stop", "charge_point_id": "A",
               "detected_at": "2024-05-01T10:00:01Z"}]
    late = score(truth, [], alerts)["detectors"]["late_stop"]
    assert (late["precision"], late["recall"]) == (1.0, round(1 / 3, 4))


def test_billing_per_profile_and_fault() -> None:
    truth = _truth()
    truth += [{"type": "session", "charge_point_id": "A", "transaction_id": "3",
               "energy_wh": 2000.0, "profiles": ["ended_twice", "backfill_weeks"],
               "fault": None},
              {"type": "session", "charge_point_id": "B", "transaction_id": "4",
               "energy_wh": 500.0, "profiles": ["ended_twice"], "fault": "duplicate_stop"}]
    sessions = [{"charge_point_id": cp, "transaction_id": tx, "energy_wh": wh}
                for cp, tx, wh in (("A", "1", 1000.0), ("B", "2", 3000.0), ("A", "3", 2100.0),
                                   ("B", "4", 900.0))]
    finance = [{"charge_point_id": cp, "transaction_id": tx, "billable": ok}
               for cp, tx, ok in (("A", "1", True), ("A", "3", False), ("B", "4", False),
                                  ("B", "2", True), ("B", "2", True))]  # 2 billed twice
    billing = score(truth, sessions, [], finance=finance)["billing"]
    assert billing["all"] == {"expected": 4, "matched": 4, "energy_error_wh": 500.0,
                              "energy_error_pct": 7.6923, "finished": 4, "held": 2,
                              "held_share": 0.5, "billed_twice": 1}
    twice = billing["profiles"]["ended_twice"]  # sessions 1 and 3: the faulted 4 is not in it
    assert (twice["expected"], twice["held"], twice["held_share"]) == (2, 1, 0.5)
    assert twice["energy_error_pct"] == round(100 * 100 / 3000, 4)
    assert billing["profiles"]["backfill_weeks"]["held_share"] == 1.0
    assert billing["no_profile"]["expected"] == 1 and billing["no_profile"]["billed_twice"] == 1
    assert billing["faults"]["duplicate_stop"]["held_share"] == 1.0
    assert billing["clean"]["expected"] == 3
    assert "billing" not in score(truth, sessions, [])


def test_ctrl_c_stops_the_simulator_within_seconds(tmp_path: Path) -> None:
    """SIGINT mid-plan: the chargers stop at once (not at the end of --duration), the truth
    file is closed with its end row, and the exit code says interrupted."""
    port = free_port()
    cli = [sys.executable, "-m", "chargeline"]
    serve = subprocess.Popen([*cli, "serve", "--data-dir", str(tmp_path / "data"), "--port",
                              str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim: subprocess.Popen[bytes] | None = None
    try:
        assert wait_listening(port, timeout_s=60)
        sim = subprocess.Popen([*cli, "simulate", "--url", f"ws://127.0.0.1:{port}/ocpp",
                                "--chargers", "5", "--speed", "60", "--duration", "300",
                                "--truth", str(tmp_path / "truth.jsonl")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _journaled(tmp_path / "data") < 40:
            time.sleep(0.2)
        assert _journaled(tmp_path / "data") >= 40, "the fleet did not get going"
        sim.send_signal(signal.SIGINT)
        began = time.monotonic()
        _, err = sim.communicate(timeout=60)
        assert time.monotonic() - began < 10, "the simulator ran on after Ctrl-C"
        assert sim.returncode == 130, err.decode(errors="replace")[-2000:]
        assert b"interrupted" in err
        rows = [orjson.loads(line) for line in (tmp_path / "truth.jsonl").read_bytes()
                .splitlines()]
        assert rows[-1]["type"] == "end"
    finally:
        if sim is not None and sim.poll() is None:
            sim.kill()
            sim.wait()
        serve.terminate()
        serve.wait(timeout=30)


def _journaled(data_dir: Path) -> int:
    """Records in a live journal so far (0 while it has none, or a segment is half written)."""
    try:
        return int(JournalReader(data_dir).read_all().num_rows)
    except Exception:
        return 0
