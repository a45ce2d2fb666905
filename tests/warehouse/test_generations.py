"""``chargeline replay`` and ``chargeline flow`` on one data dir, as real processes: one at a
time, and a replay builds a new warehouse generation that readers (the dashboards' held
connection, finance exports) see only once it is whole."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from chargeline.cli import main
from chargeline.flowlock import LOCK_NAME, hold, holder
from tests.flows.traffic import S, traffic_lines, write_chunks
from warehouse import catalog
from warehouse.export import finance_rows

CLI = [sys.executable, "-m", "chargeline"]
# finance_unpriced: its rows are finance_sessions' (the export below reads those, priced),
# without the pricing chain each read would pay
COUNTS = ("select (select count(*) from sessions) as sessions, "
          "(select count(*) from finance_unpriced) as finance")


@pytest.fixture(scope="module")
def replayed_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """``replayed_factory(to)``: a copy at ``to`` of a data dir whose journal holds the fixture
    traffic of 2 copies of every trace (~3,700 frames over four weeks, in the past: ``import``
    refuses frames stamped more than a day ahead), the first half replayed into the
    warehouse, the second half not yet."""
    root = tmp_path_factory.mktemp("replayed")
    lines = traffic_lines(2, time.time_ns() - 60 * 86_400 * S)
    first, second = write_chunks(lines, root / "traffic", 2)
    chargeline("import", "--data-dir", root / "data", first)
    chargeline("replay", "--data-dir", root / "data")
    chargeline("import", "--data-dir", root / "data", second)

    def copy(to: Path) -> Path:  # the catalog's views name their data dir: a copy builds its own
        return Path(shutil.copytree(root / "data", to, symlinks=True,
                                    ignore=shutil.ignore_patterns("catalog.duckdb")))
    return copy


@pytest.fixture
def replayed(replayed_factory: Callable[[Path], Path], tmp_path: Path) -> Path:
    return replayed_factory(tmp_path / "data")


def chargeline(*args: Any) -> None:
    subprocess.run([*CLI, *map(str, args)], check=True, capture_output=True, timeout=120)


def refused(*args: Any) -> str:
    """Run a command that must be refused at once; its error line."""
    done = subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=20,
                          check=False)
    assert done.returncode == 2, done.stderr[-2000:]
    return done.stderr


def counts(con: duckdb.DuckDBPyConnection, data: Path) -> tuple[Any, ...]:
    """(sessions, finance_sessions) through the held connection, or the error a reader got."""
    try:
        return tuple(catalog.query(con, data, COUNTS).to_pylist()[0].values())
    except duckdb.Error as exc:
        return ("error", str(exc).splitlines()[0])


def exported(data: Path) -> int | str:
    """Rows of the finance export (a connection of its own), or the error it got."""
    try:
        return int(finance_rows(data, date(2000, 1, 1), date(2100, 1, 1)).num_rows)
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]


def old_then_new(seen: list[Any], old: Any, new: Any) -> int:
    """How many reads saw ``old``; fails unless every read saw ``old``, then ``new``."""
    swap = seen.index(new) if new in seen else len(seen)
    assert seen[:swap] == [old] * swap and seen[swap:] == [new] * (len(seen) - swap)
    return swap


def wait_holding(data: Path, pid: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not holder(data / LOCK_NAME).startswith(f"{pid} "):
        assert time.monotonic() < deadline, "the process never took the flow lock"
        time.sleep(0.02)


def test_readers_see_the_old_warehouse_whole_until_the_replay_swaps_in_the_new(
        replayed: Path) -> None:
    data = replayed
    con = catalog.connect(data)  # held throughout, as the dashboards hold theirs
    old, old_export = counts(con, data), exported(data)
    replay = subprocess.Popen([*CLI, "replay", "--data-dir", str(data)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen, exports, refusal = [], [], ""
    while replay.poll() is None:
        seen.append(counts(con, data))
        exports.append(exported(data))
        if not refusal and holder(data / LOCK_NAME).startswith(f"{replay.pid} "):
            refusal = refused("flow", "--data-dir", data)
    new, new_export = counts(con, data), exported(data)
    con.close()
    assert replay.returncode == 0
    assert f"in use by chargeline replay (pid {replay.pid})" in refusal
    assert old[0] != "error" and new[0] != "error" and new[0] > old[0] > 0
    assert old_export == old[1] and new_export == new[1]
    reads_old = old_then_new(seen, old, new)
    exports_old = old_then_new(exports, old_export, new_export)
    print(f"\nFIGURES replay-vs-readers {{'old': {old}, 'new': {new}, 'reads': {len(seen)}, "
          f"'reads_of_old': {reads_old}, 'exports_of_old': {exports_old}}}")
    # the readers did read while the replay ran (an export, priced, is the slower of the two)
    assert reads_old >= 5 and exports_old >= 3


def test_a_second_flow_or_replay_is_refused_while_a_flow_runs(
        replayed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = replayed
    flow = subprocess.Popen([*CLI, "flow", "--data-dir", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_holding(data, flow.pid)
        named = f"in use by chargeline flow (pid {flow.pid})"
        assert named in refused("flow", "--data-dir", data)
        assert main(["replay", "--data-dir", str(data)]) == 2
        assert named in capsys.readouterr().err
    finally:
        flow.send_signal(signal.SIGTERM)
        flow.wait(timeout=30)
    with hold(data, "test"):  # the lock went with the flow
        assert holder(data / LOCK_NAME) == f"{os.getpid()} chargeline test"


def test_a_replay_killed_half_way_leaves_the_current_warehouse_and_is_cleared(
        replayed: Path) -> None:
    data = replayed
    con = catalog.connect(data)
    before = counts(con, data)
    replay = subprocess.Popen([*CLI, "replay", "--data-dir", str(data)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_holding(data, replay.pid)
    while not (data / "warehouse" / "gen-2").exists():
        time.sleep(0.01)
    replay.send_signal(signal.SIGKILL)
    replay.wait()
    assert counts(con, data) == before
    assert (data / "recovery").is_dir() and (data / "warehouse" / "gen-2").exists()
    chargeline("replay", "--data-dir", data)
    assert counts(con, data)[0] > before[0]
    con.close()
    assert sorted(p.name for p in (data / "warehouse").glob("gen-*")) == ["gen-2"]
    assert sorted(p.name for p in data.glob("recovery*")) == ["recovery"]
