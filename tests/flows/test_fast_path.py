"""The fast path (``flows.fastpath``) gives the same warehouse as the full path, bit for bit.

In process: the flow's stateful step over the same batches with the fast path on and off,
every output row and every charger's pickled state compared; crafted traffic makes each
condition that sends a frame back to the full path happen (a reconnect waiting for its first
message, a start held for its answer, a watchdog deadline inside a run of heartbeats, an
offline timer, a payload that is not an object, an answer whose CALL has a handler, the 256th
flush). End to end: ``chargeline replay`` on the fixture traces and on a fleet simulated
through a real ``chargeline serve``, every warehouse table compared whole, nothing left out
(no column differs: ``updated_at`` and ``detected_at`` are frame times, not write times).
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from canonical import RawFrame, to_batch
from canonical.enums import AlertKind, ParseStatus, RecordKind
from canonical.errors import JournalError
from chargeline.ports import free_port, wait_port
from flows.config import FlowConfig
from flows.shard import ShardLogic, split_by_shard
from ingest.journal import JournalReader
from tests.flows.traffic import S, traffic_lines, write_chunks
from warehouse.generations import current

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "chargeline"]
T0 = 1_767_261_600 * S  # 2026-01-01T10:00Z


# -- in process ------------------------------------------------------------------------------
class _Counting(ShardLogic):
    """The flow's step, counting the event rows the fast path built."""

    built = 0

    def _ready(self, events: pa.RecordBatch | None) -> None:
        self.built += events.num_rows if events is not None else 0
        super()._ready(events)


def _through_the_step(table: pa.Table, fast: bool, rows: int = 500
                      ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, bytes], int]:
    """Batches of ``rows`` through one ``ShardLogic`` per shard as the flow routes them:
    (rows written per table, sorted; each charger's pickled state; heartbeat rows the fast
    path built). One config for both (it is part of the state): the switch is set after."""
    config = FlowConfig()
    shards: dict[str, _Counting] = {}
    written: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, table.num_rows, rows):
        batch = table.slice(start, rows)
        clock = int(batch["received_at"].cast(pa.int64())[-1].as_py())
        for key, item in split_by_shard(("frames", batch, clock)):
            if key not in shards:
                shards[key] = _Counting(config, None)
                shards[key].fast = fast
            logic = shards[key]
            _collect(written, logic.on_item(item)[0])
    for logic in shards.values():
        _collect(written, logic.on_eof()[0])
    states = {cp: pickle.dumps(c) for logic in shards.values() for cp, c in logic.chargers.items()}
    return ({k: sorted(v, key=repr) for k, v in written.items()}, states,
            sum(logic.built for logic in shards.values()))


def _collect(written: dict[str, list[dict[str, Any]]], out: Any) -> None:
    for name, batch in out:
        written.setdefault(name, []).extend(batch.to_pylist())


def _same_either_way(table: pa.Table, rows: int = 500
                     ) -> tuple[dict[str, list[dict[str, Any]]], int]:
    """The step's output and state, fast path on and off: equal. (Output, rows it built.)"""
    slow, slow_state, none = _through_the_step(table, fast=False, rows=rows)
    fast, fast_state, built = _through_the_step(table, fast=True, rows=rows)
    assert fast.keys() == slow.keys()
    for name in slow:
        assert fast[name] == slow[name], name
    assert fast_state == slow_state
    assert none == 0
    return fast, built


def _frame(i: int, at_s: float, raw: object, *, cp: str = "CP-EDGE", direction: str = "in",
           kind: str = RecordKind.frame, action: str | None = None) -> RawFrame:
    text = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
    mtype = mid = None
    if isinstance(raw, list):
        mtype, mid = raw[0], raw[1]
        action = action or (raw[2] if raw[0] == 2 else None)
    return RawFrame(i, T0 + int(at_s * S), cp, "c1", "ocpp1.6", direction, kind, mtype, mid,
                    action, text, ParseStatus.ok)


def _edge_traffic() -> Iterator[tuple[float, object, dict[str, Any]]]:
    """(seconds, frame, options) of one charger meeting every full-path condition."""
    yield 0, '{"remote":"127.0.0.1"}', {"direction": "", "kind": RecordKind.connected}
    yield 1, [2, "hb1", "Heartbeat", {}], {}  # the reconnect's first message: full path
    yield 2, [3, "hb1", {"currentTime": "x"}], {"direction": "out", "action": "Heartbeat"}
    yield 3, [2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}], {}
    yield 4, [3, "b1", {"status": "Accepted"}], {"direction": "out", "action": "BootNotification"}
    yield 10, [2, "st1", "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 100,
                                              "timestamp": "2026-01-01T10:00:10Z"}], {}
    yield 11, [2, "hb2", "Heartbeat", {}], {}  # a start held for its answer: full path
    yield 12, [3, "st1", {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}], {
        "direction": "out", "action": "StartTransaction"}
    yield 13, [2, "hb3", "Heartbeat", []], {}  # not an object: quarantined
    yield 14, [2, "au1", "Authorize", {"idTag": "T"}], {}
    yield 15, [3, "au1", {"idTagInfo": {"status": "Accepted"}}], {  # mislabeled: the CALL's
        "direction": "out", "action": "Heartbeat"}  # handler decides, not the label
    for k in range(300):  # past 256 flushes; a 40-min gap: the watchdog fires in between
        at = 20 + 60 * k + (2400 if k > 150 else 0)
        yield at, [2, f"h{k}", "Heartbeat", {}], {}
        yield at + 0.05, [3, f"h{k}", {"currentTime": "x"}], {"direction": "out",
                                                             "action": "Heartbeat"}
    yield 30_000, '{"code":1006}', {"direction": "", "kind": RecordKind.disconnected}
    yield 31_000, [2, "late", "Heartbeat", {}], {}  # offline past offline_after: the alert


def test_every_full_path_condition_gives_the_same_output_and_state() -> None:
    frames = [_frame(i + 1, at, raw, **opts) for i, (at, raw, opts) in enumerate(_edge_traffic())]
    table = pa.Table.from_batches([to_batch(RawFrame, frames)])
    written, built = _same_either_way(table, rows=97)
    assert {AlertKind.stuck_session, AlertKind.charger_offline,
            AlertKind.quarantined_frame} <= {a["kind"] for a in written["alerts"]}
    assert built > 250  # the heartbeats did take the fast path


@pytest.fixture(scope="module")
def traces_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every fixture trace (once each), imported into a journal."""
    root = tmp_path_factory.mktemp("traces")
    for chunk in write_chunks(traffic_lines(1, time.time_ns() + 3600 * S), root / "in", 1):
        subprocess.run([*CLI, "import", "--data-dir", str(root / "data"), str(chunk)],
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
    return root / "data"


def test_fixture_traces_in_process(traces_journal: Path) -> None:
    _, built = _same_either_way(JournalReader(traces_journal).read_all())
    assert built > 0  # the quirk traces hold few heartbeats: most of them go the full path


# -- end to end ------------------------------------------------------------------------------
def _replay(journal: Path, to: Path, fast: bool) -> subprocess.Popen[bytes]:
    """``chargeline replay`` of a copy of ``journal`` into ``to``, started."""
    (to / "journal").mkdir(parents=True)
    for f in (journal / "journal").iterdir():
        (to / "journal" / f.name).write_bytes(f.read_bytes())
    return subprocess.Popen([*CLI, "replay", "--data-dir", str(to)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "CHARGELINE_FAST_PATH": "1" if fast else "0"})


def _tables(data_dir: Path) -> dict[str, list[str]]:
    """Every warehouse table of the current generation, whole: its rows, sorted."""
    tables = {}
    for table in sorted(p for p in current(data_dir).iterdir() if p.is_dir()):
        rows = [r for f in sorted(table.rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
        tables[table.name] = sorted(map(repr, rows))
    return tables


def _assert_same_warehouse(journal: Path, tmp_path: Path) -> None:
    """Both replays at once (they share nothing but the journal they copy)."""
    runs = {fast: _replay(journal, tmp_path / f"fast-{fast}", fast) for fast in (False, True)}
    for proc in runs.values():
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    slow, fast = _tables(tmp_path / "fast-False"), _tables(tmp_path / "fast-True")
    assert sorted(fast) == sorted(slow)
    for name in slow:
        assert fast[name] == slow[name], name
    assert len(slow["events"]) > 1000 and slow["sessions"] and slow["alerts"]


def test_replay_of_a_simulated_fleet_and_the_traces_writes_the_same_warehouse(
        traces_journal: Path, tmp_path: Path) -> None:
    """20 chargers with every fault, ~2.7 simulated hours through a real server, then every
    fixture trace imported after them: one journal, replayed both ways."""
    data, port = tmp_path / "sim", free_port()
    serve = subprocess.Popen([*CLI, "serve", "--data-dir", str(data), "--port", str(port),
                              "--rate", "100000", "--rate-bytes", "1e12"], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        started = time.monotonic()
        sim = subprocess.Popen([*CLI, "simulate", "--url", f"ws://127.0.0.1:{port}/ocpp",
                                "--chargers", "20", "--speed", "1200", "--duration", "8",
                                "--faults", "all", "--truth", str(tmp_path / "truth.jsonl")],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # its 8 s start when its imports are done (seconds more on a loaded box), and it
        # lingers on unfinished sessions (and on SIGINT): killed once the journal holds enough
        deadline = time.monotonic() + 120
        while sim.poll() is None and time.monotonic() < deadline and not (
                time.monotonic() > started + 10 and _rows(data) > 1500):
            time.sleep(0.5)
        _stop(sim, signal.SIGKILL, 0)
    finally:
        _stop(serve, signal.SIGTERM, 0)
    assert JournalReader(data).read_all().num_rows > 1500
    for chunk in write_chunks(traffic_lines(1, time.time_ns() + 3600 * S), tmp_path / "in", 1):
        subprocess.run([*CLI, "import", "--data-dir", str(data), str(chunk)],
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
    _assert_same_warehouse(data, tmp_path)


def _rows(data_dir: Path) -> int:
    """Records in a live journal so far (0 before its first segment)."""
    try:
        return int(JournalReader(data_dir).read_all().num_rows)
    except (OSError, ValueError, JournalError):  # a segment half written: try again
        return 0


def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals, after_s: float) -> None:
    """``sig`` after ``after_s`` seconds if it is still running; killed 10 s later."""
    try:
        proc.wait(after_s)
        return
    except subprocess.TimeoutExpired:
        proc.send_signal(sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
