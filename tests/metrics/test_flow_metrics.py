"""A real ``chargeline serve`` and a real ``chargeline flow --metrics-port`` on one data dir,
chargers over real WebSockets, both scraped over HTTP: the flow's lag, sessions and alerts,
and the Grafana dashboard's queries against what the two really expose."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets

from chargeline.ports import free_port, wait_port
from ingest.journal import JournalReader
from tests.metrics.scrape import Scrape, scrape

CLI = [sys.executable, "-m", "chargeline"]
# 7 CALLs and their answers; a connected and a disconnected record per charger
RECORDS = 7 * 2 + 3 * 2
DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-chargeline.json"


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, *args], stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def charger(port: int, cp_id: str, frames: list[tuple[str, dict[str, Any]]]) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{cp_id}",
                                  subprotocols=["ocpp1.6"]) as ws:
        for i, (action, payload) in enumerate(frames):
            await ws.send(orjson.dumps([2, f"{cp_id}-{i}", action, payload]).decode())
            assert orjson.loads(await ws.recv())[0] == 3


def traffic(port: int) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    boot = ("BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "X1"})
    start_tx = ("StartTransaction", {"connectorId": 1, "idTag": "TAG1", "meterStart": 1000,
                                     "timestamp": now})
    stop_tx = ("StopTransaction", {"transactionId": 1, "meterStop": 5000, "timestamp": now})
    orphan = ("StopTransaction", {"transactionId": 999_999, "meterStop": 10, "timestamp": now})

    async def fleet() -> None:
        await charger(port, "CP-DONE", [boot, start_tx, stop_tx])  # gets transactionId 1
        await asyncio.gather(charger(port, "CP-CHARGING", [boot, start_tx]),
                             charger(port, "CP-ORPHAN", [boot, orphan]))

    asyncio.run(fleet())


def until(port: int, check: Any, timeout_s: float = 60.0) -> Scrape:
    deadline = time.monotonic() + timeout_s
    while True:
        scraped = scrape(port)
        if check(scraped) or time.monotonic() > deadline:
            return scraped
        time.sleep(0.2)


@pytest.fixture(scope="module")
def scrapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("metrics") / "data"
    ocpp, flow_port = free_port(), free_port()
    serve = start("serve", "--data-dir", str(data), "--port", str(ocpp), "--no-admin",
                  "--recovery", "off", "--firmware-poll", "0")
    wait_port(ocpp)
    flow = start("flow", "--data-dir", str(data), "--metrics-port", str(flow_port))
    try:
        wait_port(flow_port, timeout_s=60)
        traffic(ocpp)
        journaled = until(ocpp, lambda s: s.value("chargeline_journal_records_total")
                          == RECORDS)
        stored = journaled.value("chargeline_journal_records_total")
        flowed = until(flow_port, lambda s: s.value("chargeline_flow_frames_total") == stored
                       and s.value("chargeline_alerts_total", kind="stop_without_start") > 0)
        yield {"serve": journaled, "flow": flowed, "data": data, "stored": stored}
    finally:
        stop(flow)
        stop(serve)


def test_the_flow_counts_what_it_took_up(scrapes: dict[str, Any]) -> None:
    flow, stored = scrapes["flow"], scrapes["stored"]
    frames = list(JournalReader(scrapes["data"]).frames())
    assert stored == len(frames) == RECORDS
    assert flow.value("chargeline_flow_frames_total") == len(frames)
    assert flow.value("chargeline_flow_rows_written_total", table="frames") == len(frames)
    assert flow.value("chargeline_flow_rows_written_total", table="sessions") >= 2


def test_sessions_in_progress_alerts_and_lag(scrapes: dict[str, Any]) -> None:
    flow = scrapes["flow"]
    assert flow.value("chargeline_sessions_in_progress") == 1  # CP-CHARGING's; CP-DONE's ended
    assert flow.value("chargeline_sessions_stuck") == 0
    assert flow.value("chargeline_flow_chargers") == 3
    assert flow.value("chargeline_alerts_total", kind="stop_without_start") == 1
    newest = max(f.received_at for f in JournalReader(scrapes["data"]).frames())
    assert flow.value("chargeline_flow_newest_frame_timestamp_seconds") == pytest.approx(
        newest / 1e9, abs=1e-3)
    assert 0 <= flow.value("chargeline_flow_lag_seconds") < 30


def test_every_dashboard_query_names_a_metric_scraped(scrapes: dict[str, Any]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 10
    exposed = {s.name for scraped in (scrapes["serve"], scrapes["flow"])
               for s in scraped.samples}
    for expr in exprs:
        names = set(re.findall(r"\bchargeline_[a-z_]+", expr))
        assert names, expr
        assert names <= exposed, (expr, names - exposed)
    uids = [p["datasource"]["uid"] for p in dashboard["panels"] if "datasource" in p]
    assert set(uids) == {"${datasource}"}


def free_pair() -> int:
    """A port P with P + 1 free too (a 2-process flow serves on both)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports")


def test_each_process_of_a_cluster_serves_its_own(scrapes: dict[str, Any],
                                                  tmp_path: Path) -> None:
    """``--processes 2 --metrics-port P``: members on P and P+1, each counting its own
    workers; summed, they say what one process says."""
    shutil.copytree(scrapes["data"] / "journal", tmp_path / "journal")
    port = free_pair()
    cluster = start("flow", "--data-dir", str(tmp_path), "--processes", "2",
                    "--metrics-port", str(port))
    try:
        for member in (port, port + 1):
            wait_port(member, timeout_s=60)

        def total(name: str, **labels: str) -> float:
            return sum(scrape(p).value(name, **labels) for p in (port, port + 1))

        one, names = scrapes["flow"], ("chargeline_flow_frames_total",
                                       "chargeline_sessions_in_progress",
                                       "chargeline_flow_chargers")

        def summed() -> dict[str, float]:
            return {**{name: total(name) for name in names},
                    "alerts": total("chargeline_alerts_total", kind="stop_without_start")}

        expected = {**{name: one.value(name) for name in names}, "alerts": 1.0}
        deadline = time.monotonic() + 60  # the members take the journal up in their time
        while (found := summed()) != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert found == expected
        lags = [scrape(p).value("chargeline_flow_newest_frame_timestamp_seconds")
                for p in (port, port + 1)]
        assert sorted(lag > 0 for lag in lags) == [False, True]  # one member reads the journal
    finally:
        stop(cluster)
