"""kill -9 of the ingest (and of the flow) at random moments while a fleet sends: every
answered CALL is in the journal, retries are deduplicated, billed energy equals the truth.

A few rounds by default; ``CHARGELINE_KILL_ROUNDS=20`` for the long run.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from canonical.enums import RecordKind
from ingest.journal import JournalReader
from tests.flows.test_flow_runs import results
from tests.reliability.conftest import CLI, Process, ProcessFactory
from tests.reliability.figures import median_ms, report
from tests.reliability.fleet import RetryingCharger, make_fleet
from warehouse.catalog import connect

ROUNDS = int(os.environ.get("CHARGELINE_KILL_ROUNDS", "3"))
CHARGERS = 20


async def drive(fleet: list[RetryingCharger], rounds: int, crash: Callable[[int], None],
                seed: int) -> None:
    """Run the fleet; ``rounds`` times, at a random moment, call ``crash`` (in a thread, so the
    chargers keep trying meanwhile); then let every charger finish the session it is in."""
    rng, stop = random.Random(seed), asyncio.Event()
    tasks = [asyncio.create_task(c.run(stop, pace_s=0.02)) for c in fleet]
    for round_no in range(rounds):
        await asyncio.sleep(rng.uniform(0.2, 1.0))
        await asyncio.to_thread(crash, round_no)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 120)


def inbound_calls(data_dir: Path) -> dict[tuple[str, str], list[Any]]:
    """(charge point, message id) -> the journal records of that CALL and its answers."""
    by_call: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for f in JournalReader(data_dir).frames():
        if f.record_kind == RecordKind.frame and f.message_id:
            by_call[(f.charge_point_id, f.message_id)].append(f)
    return by_call


def assert_answered_frames_journaled(data_dir: Path, fleet: list[RetryingCharger]) -> int:
    """Every CALL a charger got a CALLRESULT for is journaled; returns how many CALLs were
    journaled more than once (answered, answer lost in the crash, resent)."""
    journal = inbound_calls(data_dir)
    missing = [(c.charge_point_id, mid) for c in fleet for mid, _ in c.answered
               if not any(f.direction == "in" for f in journal.get((c.charge_point_id, mid), []))]
    assert missing == []
    resent_twice = 0
    for records in journal.values():
        calls = [f for f in records if f.direction == "in"]
        answers = {orjson.loads(f.raw)[2].get("transactionId") for f in records
                   if f.direction == "out" and f.message_type == 3 and f.action == "StartTransaction"}
        assert len(answers) <= 1, f"one start, two transaction ids: {answers}"
        resent_twice += len(calls) > 1
    return resent_twice


def assert_sessions_match_truth(data_dir: Path, fleet: list[RetryingCharger]) -> dict[str, Any]:
    truth = {(s["charge_point_id"], s["transaction_id"]): s["energy_wh"]
             for c in fleet for s in c.sessions}
    with connect(data_dir) as db:
        rows = db.execute("select charge_point_id, transaction_id, energy_wh, status "
                          "from sessions").fetchall()
        alerts = db.execute("select kind, count(*) from alerts group by 1 order by 1").fetchall()
    found = {(cp, str(tx)): energy for cp, tx, energy, _ in rows}
    assert len(found) == len(rows), "a session counted twice"
    assert found == truth
    assert {status for *_, status in rows} == {"completed"}
    return {"sessions": len(rows), "energy_wh": sum(truth.values()), "alerts": dict(alerts)}


def assert_alerts_only_from_the_crashes(alerts: dict[str, int], resent_twice: int) -> None:
    """What a crash of the central system looks like downstream: every charger reconnected
    several times (``flapping_connection``), and a CALL answered but whose answer was lost,
    resent, is a ``duplicate_*`` (info) -- never a second session or more energy."""
    assert set(alerts) <= {"flapping_connection", "duplicate_stop", "duplicate_start"}
    assert alerts.get("duplicate_stop", 0) + alerts.get("duplicate_start", 0) <= resent_twice


def test_kill_9_of_ingest_under_a_fleet_loses_no_answered_frame(
        tmp_path: Path, server_factory: Callable[..., Process]) -> None:
    server = server_factory(tmp_path / "data")
    fleet = make_fleet(f"ws://127.0.0.1:{server.port}/ocpp", CHARGERS, seed=3)
    downtime: list[float] = []

    def crash(_: int) -> None:
        t0 = time.monotonic()
        server.kill9()
        server.start()
        downtime.append(time.monotonic() - t0)

    t0 = time.monotonic()
    asyncio.run(drive(fleet, ROUNDS, crash, seed=11))
    traffic_s = time.monotonic() - t0
    server.stop()
    resent_twice = assert_answered_frames_journaled(tmp_path / "data", fleet)
    subprocess.run([*CLI, "replay", "--data-dir", str(tmp_path / "data")], check=True,
                   capture_output=True, timeout=120)
    billed = assert_sessions_match_truth(tmp_path / "data", fleet)
    assert_alerts_only_from_the_crashes(billed["alerts"], resent_twice)
    reconnects = [s for c in fleet for s in c.reconnects]
    report("test_kill_9_of_ingest_under_a_fleet_loses_no_answered_frame", rounds=ROUNDS,
           chargers=CHARGERS, traffic_s=round(traffic_s, 1),
           answered=sum(len(c.answered) for c in fleet),
           resent=sum(c.resent for c in fleet), journaled_twice=resent_twice,
           restart_median_ms=median_ms(downtime),
           reconnect_median_ms=median_ms(reconnects) if reconnects else None, **billed)


def _caught_up(data_dir: Path, timeout_s: float = 90.0) -> dict[str, Any]:
    """The live flow's results once its warehouse holds every journal record."""
    rows = JournalReader(data_dir).read_all().num_rows
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if results(data_dir)["frames"][0] >= rows:
                time.sleep(2.5)  # one more tick: the last findings are flushed
                return results(data_dir)
        except Exception:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the live flow did not reach {rows} journal records")


def test_kill_9_of_ingest_and_flow_together(tmp_path: Path,
                                           server_factory: Callable[..., Process],
                                           process_factory: ProcessFactory) -> None:
    live = tmp_path / "live"
    server = server_factory(live)
    flow = process_factory(["flow", "--data-dir", str(live), "--snapshot-interval", "0.5"])
    flow.start()
    fleet = make_fleet(f"ws://127.0.0.1:{server.port}/ocpp", CHARGERS, seed=5)
    rng = random.Random(17)

    def crash(_: int) -> None:
        first, second = rng.sample([server, flow], 2)
        first.kill9()
        time.sleep(rng.uniform(0, 0.3))
        second.kill9()
        for process in (first, second):
            process.start()

    asyncio.run(drive(fleet, ROUNDS, crash, seed=23))
    server.stop()
    resent_twice = assert_answered_frames_journaled(live, fleet)
    after_kills = _caught_up(live)
    flow.stop()
    reference = tmp_path / "reference"
    shutil.copytree(live / "journal", reference / "journal")
    subprocess.run([*CLI, "replay", "--data-dir", str(reference)], check=True,
                   capture_output=True, timeout=120)
    assert after_kills == results(reference)
    billed = assert_sessions_match_truth(live, fleet)
    assert_alerts_only_from_the_crashes(billed["alerts"], resent_twice)
    report("test_kill_9_of_ingest_and_flow_together", rounds=ROUNDS, chargers=CHARGERS,
           journaled_twice=resent_twice,
           flow_starts=flow.starts, server_starts=server.starts,
           frames=after_kills["frames"][0], **billed)
