"""Ingest throughput and latency: one ``chargeline serve`` (journaling, fsync group commit)
beside a plain websockets echo server, driven by the same request-response clients.

    python -m bench.ingest [--clients 50,200,500] [--seconds 8] [--rounds 2]

For each number of clients, the two servers take turns (echo, serve, echo, serve...) so that
both see the machine of the same minute; the median round of each is reported. Each client
sends a MeterValues CALL and waits for the answer before sending the next (as a charger does).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import websockets

from bench._common import free_port, percentile, report, spawn, wait_port

METER = {"connectorId": 1, "transactionId": 1, "meterValue": [{
    "timestamp": "2026-01-05T10:00:00Z", "sampledValue": [
        {"value": "12345.6", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"}]}]}


async def client(url: str, n: int, stop_at: float, latencies: list[float]) -> int:
    sent = 0
    async with websockets.connect(url, subprotocols=["ocpp1.6"], compression=None,
                                  open_timeout=60) as ws:
        while time.monotonic() < stop_at:
            frame = orjson.dumps([2, f"{n}-{sent}", "MeterValues", METER]).decode()
            t0 = time.perf_counter()
            await ws.send(frame)
            await ws.recv()
            latencies.append(time.perf_counter() - t0)
            sent += 1
    return sent


async def load(url_of: Callable[[int], str], clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds
    counts = await asyncio.gather(*(client(url_of(i), i, stop_at, latencies)
                                    for i in range(clients)))
    return {"msgs_per_s": round(sum(counts) / seconds, 1), "messages": sum(counts),
            **{f"p{q}_ms": round(percentile(latencies, q / 100) * 1e3, 2) for q in (50, 95, 99)}}


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def measure(args: list[str], port: int, url_of: Callable[[int], str], clients: int,
            seconds: float) -> dict[str, float]:
    """One server process under one load; with the CPU share each side used (100 = a core)."""
    proc = spawn(args)
    try:
        wait_port(port)
        server0, client0, wall0 = _cpu_ticks(proc.pid), time.process_time(), time.monotonic()
        result = asyncio.run(load(url_of, clients, seconds))
        wall = time.monotonic() - wall0
        result["server_cpu_pct"] = round((_cpu_ticks(proc.pid) - server0) / wall)
        result["client_cpu_pct"] = round((time.process_time() - client0) / wall * 100)
        return result
    finally:
        proc.terminate()
        proc.wait(10)


def compare(clients: int, seconds: float, rounds: int) -> dict[str, Any]:
    """Echo and serve in turns, ``rounds`` each; the median round of each and their ratio."""
    runs: dict[str, list[dict[str, float]]] = {"echo": [], "serve": []}
    for _ in range(rounds):
        data_dir = tempfile.mkdtemp(prefix="bench-ingest-")
        try:
            p1, p2 = free_port(), free_port()
            runs["echo"].append(measure(["bench/echo_server.py", str(p1)], p1,
                                        lambda i, p=p1: f"ws://127.0.0.1:{p}/", clients, seconds))
            runs["serve"].append(measure(
                ["-m", "chargeline", "serve", "--data-dir", data_dir, "--port", str(p2),
                 "--rate", "100000", "--rate-bytes", "1e12"], p2,
                lambda i, p=p2: f"ws://127.0.0.1:{p}/ocpp/BENCH-{i}", clients, seconds))
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
    median = {name: sorted(r, key=lambda x: x["msgs_per_s"])[len(r) // 2]
              for name, r in runs.items()}
    ratios = [s["msgs_per_s"] / e["msgs_per_s"] for e, s in zip(runs["echo"], runs["serve"],
                                                                 strict=True)]
    return {"clients": clients, "serve": median["serve"], "echo_baseline": median["echo"],
            "ratio_vs_echo": round(median["serve"]["msgs_per_s"]
                                   / median["echo"]["msgs_per_s"], 3),
            "ratio_per_round": [round(r, 3) for r in ratios],
            "serve_msgs_per_s_rounds": [r["msgs_per_s"] for r in runs["serve"]],
            "echo_msgs_per_s_rounds": [r["msgs_per_s"] for r in runs["echo"]],
            "ratio_median_of_rounds": round(statistics.median(ratios), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", default="50,200,500",
                        help="comma-separated numbers of concurrent clients")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    a = parser.parse_args()
    sweeps = [compare(int(n), a.seconds, a.rounds) for n in a.clients.split(",")]
    best = max(sweeps, key=lambda s: s["serve"]["msgs_per_s"])
    table: list[tuple[str, Any]] = []
    for s in sweeps:
        serve, echo = s["serve"], s["echo_baseline"]
        table += [(f"{s['clients']} clients: serve / echo msgs/s",
                   f"{serve['msgs_per_s']:,.0f} / {echo['msgs_per_s']:,.0f} = "
                   f"{s['ratio_vs_echo']:.3f}"),
                  (f"{s['clients']} clients: serve p50/p95/p99 ms",
                   f"{serve['p50_ms']:.1f}/{serve['p95_ms']:.1f}/{serve['p99_ms']:.1f}"),
                  (f"{s['clients']} clients: CPU % serve/client, echo/client",
                   f"{serve['server_cpu_pct']}/{serve['client_cpu_pct']}, "
                   f"{echo['server_cpu_pct']}/{echo['client_cpu_pct']}")]
    report("ingest", {"seconds": a.seconds, "rounds": a.rounds, "sweeps": sweeps,
                      "sustained_msgs_per_s": best["serve"]["msgs_per_s"],
                      "sustained_at_clients": best["clients"],
                      "ratio_vs_echo": best["ratio_vs_echo"], "target_ratio": 0.5}, table)


if __name__ == "__main__":
    main()
