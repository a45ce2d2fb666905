"""Command round trip: ``chargeline send``'s path (admin API → command desk → charger →
answer) on 100 connected simulated chargers, against the wire alone in the same run.

A real ``chargeline serve`` process; 100 chargers (the simulator's ``Wire``: real
WebSockets, answering each CALL at once) booted. Then ClearCache commands through the admin
API: one at a time (``sequential``), and one to every charger at once (``burst``, 16 client
threads, as a dashboard full of operators or the recovery agent might). For each: the HTTP
round trip the caller sees (p50/p95/p99), and the wire round trip inside it (the command
record's ``latency_ms``: CALL journaled and sent → answer read). ``overhead`` = round trip
minus wire, per command: what the API, the desk and the journal add.

    python -m bench.commands [--chargers 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import free_port, percentile, report, spawn, wait_port
from chargeline.admin_client import AdminClient
from sim.wire import Wire


async def _fleet(port: int, n: int) -> list[Wire]:
    wires = []
    for i in range(n):
        wire = await Wire.open(f"ws://127.0.0.1:{port}/ocpp/CMD-{i:04d}", "ocpp1.6")
        await wire.call("BootNotification", {"chargePointVendor": "bench",
                                             "chargePointModel": "cmd"})
        wires.append(wire)
    return wires


def _timed(client: AdminClient, cp_id: str) -> tuple[float, float | None, str]:
    t0 = time.perf_counter()
    record = client.send(cp_id, "ClearCache", {}, 10.0)
    return (time.perf_counter() - t0) * 1000, record.get("latency_ms"), record["outcome"]


def _burst(client: AdminClient, ids: list[str],
           rounds: int) -> list[tuple[float, float | None, str]]:
    """Every charger at once, ``rounds`` times, from 16 threads (the chargers answer in the
    event loop meanwhile)."""
    rows: list[tuple[float, float | None, str]] = []
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for _ in range(rounds):
            rows += list(pool.map(lambda cp: _timed(client, cp), ids))
    return rows


def _summary(rows: list[tuple[float, float | None, str]]) -> dict[str, Any]:
    trip = [r[0] for r in rows]
    wire = [r[1] for r in rows if r[1] is not None]
    over = [r[0] - r[1] for r in rows if r[1] is not None]
    return {"commands": len(rows), "answered": sum(r[2] == "answered" for r in rows),
            **{f"round_trip_p{q}_ms": round(percentile(trip, q / 100), 2) for q in (50, 95, 99)},
            **{f"wire_p{q}_ms": round(percentile(wire, q / 100), 2) for q in (50, 95)},
            **{f"overhead_p{q}_ms": round(percentile(over, q / 100), 2) for q in (50, 95)}}


async def run(chargers: int, rounds: int, data: Path) -> dict[str, Any]:
    port = free_port()
    serve = spawn(["-m", "chargeline", "serve", "--data-dir", str(data), "--port", str(port)])
    try:
        wait_port(port)
        for _ in range(400):  # the API is published just after the OCPP port opens
            if (data / "admin.json").exists():
                break
            await asyncio.sleep(0.05)
        wires = await _fleet(port, chargers)
        client = AdminClient.of(data)
        ids = [f"CMD-{i:04d}" for i in range(chargers)]
        await asyncio.to_thread(_timed, client, ids[0])  # warm-up
        sequential = [await asyncio.to_thread(_timed, client, cp) for cp in ids * rounds]
        t0 = time.perf_counter()
        burst = await asyncio.to_thread(_burst, client, ids, rounds)
        burst_s = time.perf_counter() - t0
        for wire in wires:
            await wire.close()
        return {"chargers": chargers, "sequential": _summary(sequential),
                "burst": {**_summary(burst), "commands_per_s": round(len(burst) / burst_s, 1)}}
    finally:
        serve.terminate()
        serve.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chargers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    try:
        result = asyncio.run(run(args.chargers, args.rounds, data))
    finally:
        shutil.rmtree(data, ignore_errors=True)
    s, b = result["sequential"], result["burst"]
    report("commands", result, [
        ("sequential p50/p95 ms", f"{s['round_trip_p50_ms']} / {s['round_trip_p95_ms']}"),
        ("  wire p50/p95 ms", f"{s['wire_p50_ms']} / {s['wire_p95_ms']}"),
        ("burst p50/p95 ms", f"{b['round_trip_p50_ms']} / {b['round_trip_p95_ms']}"),
        ("  wire p50/p95 ms", f"{b['wire_p50_ms']} / {b['wire_p95_ms']}"),
        ("burst commands/s", b["commands_per_s"]),
        ("answered", f"{s['answered'] + b['answered']} / {s['commands'] + b['commands']}")])


if __name__ == "__main__":
    main()
