"""A/B of ``chargeline serve`` from two checkouts under ``bench.ingest``'s load, in alternating
rounds (before, after, after, before, ...), so both meet the machine of the same minutes.

    python -m bench.ab_ingest --before DIR --after DIR [--clients 50,200] [--rounds 6]

``DIR``: a checkout's root (e.g. ``git archive <commit> | tar -x -C DIR``); its ``chargeline``
runs the server. Reported per client count: the median answered CALLs/s of each, their
ratio, the median of the paired rounds' ratios, and the server's CPU per answered CALL (the
figure least moved by other processes on a shared box). Beside it, in this process: what the
metrics cost an answered CALL (``IngestMetrics.answered`` and its clock read) against
``ChargerConnection.judge`` of the same MeterValues CALL (envelope, handler, both records).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import free_port, report, wait_port
from bench.ingest import _cpu_ticks, load


def one_round(src: Path, clients: int, seconds: float) -> dict[str, float]:
    data_dir = tempfile.mkdtemp(prefix="bench-ab-")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chargeline", "serve", "--data-dir", data_dir, "--port",
         str(port), "--rate", "100000", "--rate-bytes", "1e12", "--no-admin", "--recovery",
         "off", "--firmware-poll", "0"], cwd=src, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        cpu0, wall0 = _cpu_ticks(proc.pid), time.monotonic()
        result = asyncio.run(load(lambda i: f"ws://127.0.0.1:{port}/ocpp/BENCH-{i}", clients,
                                  seconds))
        ticks = _cpu_ticks(proc.pid) - cpu0
        result["server_cpu_pct"] = round(ticks / (time.monotonic() - wall0))
        result["server_cpu_us_per_call"] = round(ticks / 100 / result["messages"] * 1e6, 1)
        return result
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


def compare(sources: dict[str, Path], clients: int, seconds: float,
            rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in sources}
    for i in range(rounds):
        for name in (("before", "after") if i % 2 == 0 else ("after", "before")):
            runs[name].append(one_round(sources[name], clients, seconds))
    rate = {k: statistics.median(r["msgs_per_s"] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r["server_cpu_us_per_call"] for r in v) for k, v in runs.items()}
    paired = [a["msgs_per_s"] / b["msgs_per_s"] for a, b in zip(runs["after"], runs["before"],
                                                                strict=True)]
    return {"clients": clients, "median_msgs_per_s": rate,
            "ratio_after_before": round(rate["after"] / rate["before"], 3),
            "median_paired_ratio": round(statistics.median(paired), 3),
            "paired_ratios": [round(p, 3) for p in paired],
            "median_cpu_us_per_call": cpu,
            "cpu_ratio_after_before": round(cpu["after"] / cpu["before"], 3),
            "rounds": runs}


def hook_cost(repeat: int = 7, number: int = 200_000) -> dict[str, float]:
    """Best-of-``repeat`` ns per answered CALL of the metrics hooks and of ``judge``."""
    import timeit

    import orjson

    from bench.ingest import METER
    from canonical.enums import Protocol
    from ingest.connection import ChargerConnection, Shared
    from ingest.transactions import TransactionRegistry

    shared = Shared(journal=None, transactions=TransactionRegistry(),  # type: ignore[arg-type]
                    heartbeat_interval_s=300, max_frame_bytes=1 << 20, rate_per_s=1e9,
                    burst=10**9)
    conn = ChargerConnection.__new__(ChargerConnection)
    conn.shared, conn.charge_point_id, conn.protocol = shared, "CP", Protocol.v16
    conn.connection_id, conn.pending, conn.expired = "c-1", {}, {}
    data = orjson.dumps([2, "1-1", "MeterValues", METER])
    inbound, answer = conn.judge(data)
    assert answer is not None
    metrics, clock = shared.metrics, time.perf_counter

    def hooks() -> None:
        metrics.answered(inbound, answer.action, clock())

    def best(fn: Any) -> float:
        return round(min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e9)

    return {"hooks_ns_per_answer": best(hooks), "judge_ns_per_call": best(
        lambda: conn.judge(data))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=Path.cwd())
    parser.add_argument("--clients", default="50,200")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=6)
    a = parser.parse_args()
    sources = {"before": a.before.resolve(), "after": a.after.resolve()}
    sweeps = [compare(sources, int(n), a.seconds, a.rounds) for n in a.clients.split(",")]
    table = [(f"{s['clients']} clients: after/before msgs/s (paired), CPU/call",
              f"{s['ratio_after_before']:.3f} ({s['median_paired_ratio']:.3f}), "
              f"{s['cpu_ratio_after_before']:.3f}") for s in sweeps]
    hooks = hook_cost()
    table.append(("metrics hooks / judge, ns per answered CALL",
                  f"{hooks['hooks_ns_per_answer']} / {hooks['judge_ns_per_call']}"))
    report("ab_ingest", {"before": str(a.before), "after": str(a.after), "seconds": a.seconds,
                         "rounds_each": a.rounds, "sweeps": sweeps, **hooks}, table)


if __name__ == "__main__":
    main()
