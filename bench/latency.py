"""End-to-end latency: a frame sent by a charger → its canonical event queryable in the warehouse
(``events`` view, read-only catalog), through a live ``chargeline serve`` + ``chargeline flow``,
beside the frame → journal latency (readable by ``JournalReader``) in the same run.

N OCPP 1.6J chargers (raw websockets frames) boot, then run sessions: Authorize,
StartTransaction, StatusNotification, MeterValues every ``--interval`` s, StopTransaction,
with Heartbeats. Every CALL's send time is kept by message id; one thread tails the journal,
another polls the warehouse, each noting when a message id first shows up.

    python -m bench.latency [--chargers 50] [--seconds 60] [--interval 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.compute as pc
import websockets
from websockets.typing import Subprotocol

from bench._common import free_port, percentile, report, spawn, wait_port

PREFIX = "LAT-"
WAREHOUSE_POLL_S = 0.1
JOURNAL_POLL_S = 0.01
DRAIN_S = 10.0


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Ledger:
    """When each thing was sent, by key and kind, and when each was first seen where
    (monotonic seconds). Kinds: ``frame`` (a CALL, keyed by message id), ``session_start``
    and ``session_stop`` (keyed ``<charge point>|<transaction id>``)."""

    def __init__(self) -> None:
        self.sent: dict[str, dict[str, float]] = {"frame": {}, "session_start": {},
                                                  "session_stop": {}}
        self.actions: dict[str, int] = {}
        self.seen: dict[str, dict[str, float]] = {}
        self.lock = threading.Lock()

    def send(self, kind: str, key: str, at: float | None = None) -> None:
        with self.lock:
            self.sent[kind][key] = time.monotonic() if at is None else at

    def see(self, where: str, kind: str, keys: list[str], at: float) -> None:
        with self.lock:
            seen, sent = self.seen.setdefault(where, {}), self.sent[kind]
            for key in keys:
                if key in sent and key not in seen:
                    seen[key] = at - sent[key]

    def pending(self, where: str, kind: str) -> int:
        with self.lock:
            return len(self.sent[kind]) - len(self.seen.get(where, {}))

    def latencies(self, where: str) -> list[float]:
        with self.lock:
            return list(self.seen.get(where, {}).values())


# -- the chargers --------------------------------------------------------------------------
class Charger:
    def __init__(self, url: str, index: int, ledger: Ledger, interval_s: float) -> None:
        self.id = f"{PREFIX}{index:04d}"
        self.url, self.ledger, self.interval = f"{url}/{self.id}", ledger, interval_s
        self.rng = random.Random(index)
        self.seq = itertools.count()
        self.register_wh = self.rng.randrange(100_000, 2_000_000)
        self.ws: Any = None

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        mid = f"{self.id}-{next(self.seq)}"
        frame = orjson.dumps([2, mid, action, payload]).decode()
        self.ledger.actions[action] = self.ledger.actions.get(action, 0) + 1
        self.ledger.send("frame", mid)
        await self.ws.send(frame)
        answer = orjson.loads(await self.ws.recv())
        return answer[2] if answer[0] == 3 else None

    async def pause(self) -> None:
        await asyncio.sleep(self.interval * self.rng.uniform(0.5, 1.5))

    async def run(self, stop_at: float) -> None:
        async with websockets.connect(self.url, subprotocols=[Subprotocol("ocpp1.6")],
                                      compression=None) as self.ws:
            await self.call("BootNotification", {"chargePointVendor": "Bench",
                                                 "chargePointModel": "Latency-1"})
            await self.status("Available")
            while time.monotonic() < stop_at:
                await self.session(stop_at)

    async def status(self, status: str) -> None:
        await self.call("StatusNotification", {"connectorId": 1, "status": status,
                                               "errorCode": "NoError", "timestamp": now_text()})

    async def session(self, stop_at: float) -> None:
        tag = f"TAG{self.rng.randrange(10**6):06d}"
        await self.pause()
        await self.call("Authorize", {"idTag": tag})
        started = time.monotonic()
        answer = await self.call("StartTransaction", {
            "connectorId": 1, "idTag": tag, "meterStart": self.register_wh,
            "timestamp": now_text()})
        tx = int((answer or {}).get("transactionId", 0))
        self.ledger.send("session_start", f"{self.id}|{tx}", started)
        await self.status("Charging")
        for i in range(self.rng.randrange(5, 15)):
            await self.pause()
            if time.monotonic() >= stop_at:
                break
            self.register_wh += self.rng.randrange(20, 120)
            await self.call("Heartbeat", {}) if i % 5 == 4 else await self.meter(tx)
        self.ledger.send("session_stop", f"{self.id}|{tx}")
        await self.call("StopTransaction", {"transactionId": tx, "meterStop": self.register_wh,
                                            "timestamp": now_text(), "idTag": tag,
                                            "reason": "EVDisconnected"})
        await self.status("Available")

    async def meter(self, tx: int) -> None:
        await self.call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [{
            "timestamp": now_text(), "sampledValue": [
                {"value": str(self.register_wh), "measurand": "Energy.Active.Import.Register",
                 "unit": "Wh", "context": "Sample.Periodic"},
                {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"}]}]})


# -- the observers -------------------------------------------------------------------------
def poll_loop(stop: threading.Event, period_s: float, once: Callable[[], None]) -> None:
    while not stop.is_set():
        t0 = time.monotonic()
        once()
        stop.wait(max(0.0, period_s - (time.monotonic() - t0)))


def journal_observer(data_dir: Path, ledger: Ledger) -> Callable[[], None]:
    from ingest.journal import JournalReader

    reader = JournalReader(data_dir)

    def once() -> None:
        at = time.monotonic()
        for batch in reader.poll():
            inbound = batch.filter(pc.equal(batch.column("direction"), "in"))
            ids = [m for m in inbound.column("message_id").to_pylist() if m]
            ledger.see("journal", "frame", ids, at)
    return once


class WarehouseObserver:
    """Polls the ``events`` view; ``at`` is a query's start (files are listed when it starts,
    and appear atomically), so the figure is not inflated by the query's own duration."""

    EVENTS = (f"select distinct message_id from events where charge_point_id like '{PREFIX}%' "
              "and message_id is not null")
    SESSIONS = ("select charge_point_id || '|' || transaction_id as key, stopped_at is not null"
                f" as stopped from sessions where charge_point_id like '{PREFIX}%'")

    def __init__(self, data_dir: Path, ledger: Ledger) -> None:
        from warehouse.catalog import connect

        self.data_dir, self.ledger = data_dir, ledger
        self.con = connect(data_dir)
        self.query_s: list[float] = []

    def once(self) -> None:
        from warehouse.catalog import query

        at = time.monotonic()
        ids = query(self.con, self.data_dir, self.EVENTS).column("message_id").to_pylist()
        self.query_s.append(time.monotonic() - at)
        self.ledger.see("warehouse", "frame", ids, at)
        at = time.monotonic()
        sessions = query(self.con, self.data_dir, self.SESSIONS).to_pylist()
        self.ledger.see("session_start", "session_start", [r["key"] for r in sessions], at)
        self.ledger.see("session_stop", "session_stop",
                        [r["key"] for r in sessions if r["stopped"]], at)


# -- the run -------------------------------------------------------------------------------
async def drive(url: str, ledger: Ledger, chargers: int, seconds: float,
                interval_s: float) -> None:
    stop_at = time.monotonic() + seconds
    fleet = [Charger(url, i, ledger, interval_s) for i in range(chargers)]
    await asyncio.gather(*(c.run(stop_at) for c in fleet))


def wait_for_catalog(data_dir: Path, timeout_s: float = 30.0) -> None:
    from warehouse.catalog import catalog_path

    deadline = time.monotonic() + timeout_s
    while not catalog_path(data_dir).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("chargeline flow made no catalog")
        time.sleep(0.1)


def measure(data_dir: Path, port: int, a: argparse.Namespace) -> tuple[Ledger, list[float]]:
    ledger = Ledger()
    warehouse = WarehouseObserver(data_dir, ledger)
    stop = threading.Event()
    threads = [threading.Thread(target=poll_loop, args=(stop, period, once), daemon=True)
               for period, once in ((JOURNAL_POLL_S, journal_observer(data_dir, ledger)),
                                    (WAREHOUSE_POLL_S, warehouse.once))]
    for thread in threads:
        thread.start()
    try:
        asyncio.run(drive(f"ws://127.0.0.1:{port}/ocpp", ledger, a.chargers, a.seconds,
                          a.interval))
        deadline = time.monotonic() + DRAIN_S
        while ledger.pending("warehouse", "frame") and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        warehouse.con.close()
    return ledger, warehouse.query_s


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Wait for a terminated child; kill it if it does not go."""
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def summary(ledger: Ledger, where: str, kind: str = "frame") -> dict[str, Any]:
    values = ledger.latencies(where)
    return {"seen": len(values), "missing": len(ledger.sent[kind]) - len(values),
            **{f"p{q}_ms": round(percentile(values, q / 100) * 1e3, 1) for q in (50, 95, 99)},
            "max_ms": round(max(values, default=float("nan")) * 1e3, 1)}


def ms3(figures: dict[str, Any]) -> str:
    return f"{figures['p50_ms']}/{figures['p95_ms']}/{figures['p99_ms']}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chargers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="mean seconds between a charger's frames")
    a = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    port = free_port()
    serve = spawn(["-m", "chargeline", "serve", "--data-dir", str(data_dir), "--port", str(port),
                   "--rate", "100000", "--rate-bytes", "1e12"])
    flow = spawn(["-m", "chargeline", "flow", "--data-dir", str(data_dir)])
    try:
        wait_port(port)
        wait_for_catalog(data_dir)
        ledger, query_s = measure(data_dir, port, a)
        files = sum(1 for _ in (data_dir / "warehouse" / "current").glob("*/date=*/*.parquet"))
    finally:
        for proc in (flow, serve):
            proc.terminate()
        for proc in (flow, serve):
            stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    journal, warehouse = summary(ledger, "journal"), summary(ledger, "warehouse")
    starts = summary(ledger, "session_start", "session_start")
    stops = summary(ledger, "session_stop", "session_stop")
    ratio = warehouse["p95_ms"] / journal["p95_ms"] if journal["p95_ms"] else float("nan")
    report("latency", {
        "chargers": a.chargers, "seconds": a.seconds, "interval_s": a.interval,
        "frames_sent": len(ledger.sent["frame"]), "by_action": ledger.actions,
        "frame_to_warehouse": warehouse, "frame_to_journal_baseline": journal,
        "p95_ratio_warehouse_vs_journal": round(ratio, 1), "target_p95_ms": 2000,
        "start_to_session_row": starts, "stop_to_session_stopped": stops,
        "warehouse_poll_s": WAREHOUSE_POLL_S, "warehouse_parquet_files": files,
        "warehouse_query_p50_ms": round(percentile(query_s, 0.5) * 1e3, 1),
        "warehouse_query_max_ms": round(max(query_s, default=float("nan")) * 1e3, 1)},
        [("frames sent", len(ledger.sent["frame"])),
         ("frame -> events queryable p50/p95/p99 ms", ms3(warehouse)),
         ("frame -> journal p50/p95/p99 ms (baseline)", ms3(journal)),
         ("p95 ratio", round(ratio, 1)),
         ("StartTransaction -> sessions row p50/p95/p99 ms", ms3(starts)),
         ("StopTransaction -> session stopped p50/p95/p99 ms", ms3(stops)),
         ("missing (events/journal/starts/stops)",
          f"{warehouse['missing']}/{journal['missing']}/{starts['missing']}/{stops['missing']}")])


if __name__ == "__main__":
    main()
