"""Real Bytewax runs in real processes on real journals: replay, workers, kill -9 recovery."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.flows.traffic import S, traffic_lines, write_chunks
from warehouse.catalog import connect
from warehouse.layout import table_dir

CLI = [sys.executable, "-m", "chargeline"]
SESSION_COLUMNS = ("session_id, status, energy_wh, energy_rule, meter_start_wh, meter_stop_wh, "
                   "started_at, stopped_at, flags")


def chargeline(*args: str) -> None:
    subprocess.run([*CLI, *args], check=True, capture_output=True, timeout=180)


def results(data_dir: Path) -> dict[str, Any]:
    with connect(data_dir) as db:
        return {
            "sessions": db.execute(f"select {SESSION_COLUMNS} from sessions order by 1").fetchall(),
            "alerts": db.execute("select alert_id, kind, session_id, value from alerts "
                             "order by 1").fetchall(),
            "frames": db.execute("select count(*) from frames").fetchone(),
            "events": db.execute("select count(*), count(distinct event_id) from events").fetchone(),
        }


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal of ~5,000 frames of every fixture, for 30 chargers... times in the future."""
    root = tmp_path_factory.mktemp("journal")
    start = time.time_ns() + 3600 * S
    for chunk in write_chunks(traffic_lines(8, start), root / "chunks", 1):
        chargeline("import", "--data-dir", str(root / "data"), str(chunk))
    return root / "data"


def copy_journal(journal: Path, to: Path) -> Path:
    shutil.copytree(journal / "journal", to / "journal")
    return to


def test_replay_finds_sessions_and_is_repeatable(journal: Path, tmp_path: Path) -> None:
    data = copy_journal(journal, tmp_path / "a")
    chargeline("replay", "--data-dir", str(data))
    first = results(data)
    assert first["events"][0] == first["events"][1] > 0
    energies = {s[0].split("-")[0]: s[2] for s in first["sessions"]
                if s[0].startswith("IOC-01-000")}
    assert energies == {"IOC": 83.0}
    chargeline("replay", "--data-dir", str(data))
    assert results(data) == first


def test_two_workers_and_two_processes_give_the_same_results(journal: Path,
                                                             tmp_path: Path) -> None:
    one = copy_journal(journal, tmp_path / "one")
    two = copy_journal(journal, tmp_path / "two")
    cluster = copy_journal(journal, tmp_path / "cluster")
    chargeline("replay", "--data-dir", str(one))
    chargeline("replay", "--data-dir", str(two), "--workers", "2")
    chargeline("replay", "--data-dir", str(cluster), "--processes", "2")
    assert results(two) == results(one)
    assert results(cluster) == results(one)


def _caught_up_with(data: Path, expected: dict[str, Any], timeout_s: float = 120.0
                    ) -> dict[str, Any]:
    """The live flow's results on ``data`` once they equal ``expected`` (or, at the deadline,
    as they stand): frames reach the warehouse before the events, sessions and alerts drawn
    from them, and on a loaded machine that lag is seconds, so no fixed wait is right."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            seen = results(data)
        except Exception:  # the catalog is still being created
            seen = {}
        if seen == expected:
            return seen
        time.sleep(0.5)
    return seen


def _resumed_and_replayed(live: Path, reference: Path, frames: int
                          ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A live flow started again on ``live`` and a replay of the same (complete) journal:
    their results, the live one read once it agrees or after two minutes."""
    flow = subprocess.Popen([*CLI, "flow", "--data-dir", str(live)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        chargeline("replay", "--data-dir", str(copy_journal(live, reference)))
        expected = results(reference)
        assert expected["frames"] == (frames,)
        resumed = _caught_up_with(live, expected)
    finally:
        flow.terminate()
        flow.wait(timeout=30)
    return resumed, expected


def test_kill_9_of_the_live_flow_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rounds = int(os.environ.get("CHARGELINE_KILL_ROUNDS", "3"))
    start = time.time_ns() + 3600 * S
    lines = traffic_lines(6, start)
    chunks = write_chunks(lines, tmp_path / "chunks", rounds + 1)
    live, rng = tmp_path / "live", random.Random(7)
    live.mkdir()
    for chunk in chunks:
        flow = subprocess.Popen([*CLI, "flow", "--data-dir", str(live),
                                 "--snapshot-interval", "0.5"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        chargeline("import", "--data-dir", str(live), str(chunk))
        time.sleep(rng.uniform(0.5, 3.0))
        flow.send_signal(signal.SIGKILL)
        flow.wait()
    after_kills, expected = _resumed_and_replayed(live, tmp_path / "reference", len(lines))
    assert after_kills["frames"] == expected["frames"] == (len(lines),)
    assert after_kills["events"] == expected["events"]
    assert after_kills["sessions"] == expected["sessions"]
    assert after_kills["alerts"] == expected["alerts"]


def test_a_live_flow_goes_on_from_a_two_process_replay(tmp_path: Path) -> None:
    """A replay on 2 processes reads the journal in 2 partitions and its recovery store says
    so: a live flow of 1 worker on that store goes on in the same 2 partitions from where the
    replay ended (not from the start: every frame would count twice), to the same results as
    one replay of everything."""
    lines = traffic_lines(6, time.time_ns() + 3600 * S)
    first, second = write_chunks(lines, tmp_path / "chunks", 2)
    live = tmp_path / "live"
    chargeline("import", "--data-dir", str(live), str(first))
    chargeline("replay", "--data-dir", str(live), "--processes", "2")
    assert (live / "recovery" / "SOURCE").read_text().strip() == "2"
    chargeline("import", "--data-dir", str(live), str(second))
    resumed, expected = _resumed_and_replayed(live, tmp_path / "reference", len(lines))
    assert resumed == expected
    assert resumed["events"][0] == resumed["events"][1]
    # the views dedupe, so read the files: each frame written once, by the replay or the flow
    written = pq.ParquetDataset(sorted(table_dir(live, "frames").glob("*/*.parquet"))).read()
    assert written.num_rows == len(lines)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_live_flow_stops_cleanly_on_a_signal_under_traffic(tmp_path: Path,
                                                               signum: int) -> None:
    """Ctrl-C (or SIGTERM) while frames keep coming: the flow hands on what it holds, every
    step flushes, it says so and exits 0 within seconds; a restart resumes and loses
    nothing (the same results as a replay)."""
    lines = traffic_lines(6, time.time_ns() + 3600 * S)
    first, second = write_chunks(lines, tmp_path / "chunks", 2)
    live = tmp_path / "live"
    live.mkdir()
    flow = subprocess.Popen([*CLI, "flow", "--data-dir", str(live)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    chargeline("import", "--data-dir", str(live), str(first))
    importing = subprocess.Popen([*CLI, "import", "--data-dir", str(live), str(second)])
    time.sleep(1.0)
    flow.send_signal(signum)
    began = time.monotonic()
    _, err = flow.communicate(timeout=30)
    stopped_s = time.monotonic() - began
    importing.wait(timeout=60)
    assert flow.returncode == 0, err.decode()[-2000:]
    assert stopped_s < 10, f"took {stopped_s:.1f} s"
    assert signal.Signals(signum).name in err.decode()
    resumed, expected = _resumed_and_replayed(live, tmp_path / "reference", len(lines))
    assert resumed["sessions"] == expected["sessions"]
    assert resumed["events"] == expected["events"]
