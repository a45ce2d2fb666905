"""Ingest throughput and latency: one ``chargeline serve`` (journaling, fsync group commit)
beside a plain websockets echo server, driven by the same 50 request-response clients.

    python bench/ingest.py [--clients 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
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
    async with websockets.connect(url, subprotocols=["ocpp1.6"], compression=None) as ws:
        while time.monotonic() < stop_at:
            frame = orjson.dumps([2, f"{n}-{sent}", "MeterValues", METER]).decode()
            t0 = time.perf_counter()
            await ws.send(frame)
            await ws.recv()
            latencies.append(time.perf_counter() - t0)
            sent += 1
    return sent


async def load(url_of: Any, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds
    counts = await asyncio.gather(*(client(url_of(i), i, stop_at, latencies)
                                    for i in range(clients)))
    return {"msgs_per_s": sum(counts) / seconds, "messages": sum(counts),
            **{f"p{q}_ms": percentile(latencies, q / 100) * 1e3 for q in (50, 95, 99)}}


def measure(args: list[str], port: int, url_of: Any, clients: int,
            seconds: float) -> dict[str, float]:
    proc = spawn(args)
    try:
        wait_port(port)
        return asyncio.run(load(url_of, clients, seconds))
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    a = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="bench-ingest-")
    try:
        p1, p2 = free_port(), free_port()
        echo = measure(["bench/echo_server.py", str(p1)], p1,
                       lambda i: f"ws://127.0.0.1:{p1}/", a.clients, a.seconds)
        serve = measure(["-m", "chargeline", "serve", "--data-dir", data_dir, "--port", str(p2),
                         "--rate", "100000"], p2,
                        lambda i: f"ws://127.0.0.1:{p2}/ocpp/BENCH-{i}", a.clients, a.seconds)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    ratio = serve["msgs_per_s"] / echo["msgs_per_s"]
    report("ingest", {"clients": a.clients, "seconds": a.seconds, "serve": serve,
                      "echo_baseline": echo, "ratio_vs_echo": round(ratio, 3), "target_ratio": 0.5},
           [("serve msgs/s", round(serve["msgs_per_s"])),
            ("echo msgs/s", round(echo["msgs_per_s"])),
            ("ratio", round(ratio, 3)), ("serve p50/p95/p99 ms",
             f"{serve['p50_ms']:.1f}/{serve['p95_ms']:.1f}/{serve['p99_ms']:.1f}")])


if __name__ == "__main__":
    main()
