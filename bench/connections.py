"""Connection capacity: idle-but-heartbeating chargers held by one ``chargeline serve``,
its memory per connection, and the time to take a reconnect storm (all at once).

    python -m bench.connections [--chargers 20000]

Baseline in the same run: the plain websockets echo server holding the same connections.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

from bench._common import free_port, report, spawn, wait_port

RETRIES = [0]
BOOT = '[2,"b","BootNotification",{"chargePointVendor":"Bench","chargePointModel":"Idle"}]'


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def open_one(url: str, sem: asyncio.Semaphore, boot: bool) -> Any:
    async with sem:
        for attempt in range(20):  # as real chargers do: retry with back-off
            try:
                ws = await websockets.connect(url, subprotocols=["ocpp1.6"], compression=None,
                                              ping_interval=None, open_timeout=60)
                break
            except (TimeoutError, OSError, websockets.InvalidHandshake):
                RETRIES[0] += 1
                await asyncio.sleep(min(5.0, 0.2 * (attempt + 1)))
        else:
            raise RuntimeError(f"could not connect {url}")
        if boot:
            await ws.send(BOOT)
            await ws.recv()
        return ws


async def connect_all(url_of: Any, n: int, boot: bool,
                      parallel: int = 256) -> tuple[list[Any], float]:
    sem = asyncio.Semaphore(parallel)
    t0 = time.perf_counter()
    conns = await asyncio.gather(*(open_one(url_of(i), sem, boot) for i in range(n)))
    return list(conns), time.perf_counter() - t0


async def heartbeat_round(conns: list[Any]) -> float:
    t0 = time.perf_counter()

    async def beat(ws: Any) -> None:
        await ws.send('[2,"h","Heartbeat",{}]')
        await ws.recv()

    await asyncio.gather(*(beat(ws) for ws in conns))
    return time.perf_counter() - t0


async def measure(pid: int, url_of: Any, n: int, boot: bool) -> dict[str, float]:
    before = rss_mib(pid)
    conns, connect_s = await connect_all(url_of, n, boot)
    beat_s = await heartbeat_round(conns) if boot else 0.0
    held = rss_mib(pid)
    await asyncio.gather(*(ws.transport.abort() or asyncio.sleep(0) for ws in conns))
    RETRIES[0] = 0
    conns, storm_s = await connect_all(url_of, n, boot, parallel=n)
    storm_retries = RETRIES[0]
    after = rss_mib(pid)
    await asyncio.gather(*(ws.close() for ws in conns))
    return {"chargers": n, "connect_s": connect_s, "heartbeat_round_s": beat_s,
            "reconnect_storm_s": storm_s, "storm_retries": storm_retries,
            "rss_idle_mib": before, "rss_held_mib": held,
            "rss_after_storm_mib": after, "kib_per_connection": (held - before) * 1024 / n}


def run_against(args: list[str], port: int, url_of: Any, n: int, boot: bool) -> dict[str, float]:
    proc = spawn(args)
    try:
        wait_port(port)
        time.sleep(0.5)
        return asyncio.run(measure(proc.pid, url_of, n, boot))
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    # This sandbox caps open files at 20,000 per process (hard limit), server and client alike,
    # so 19,900 chargers is the most one server process can be shown to hold here.
    parser.add_argument("--chargers", type=int, default=19_900)
    n = parser.parse_args().chargers
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit
    data_dir = tempfile.mkdtemp(prefix="bench-conn-")
    try:
        p1, p2 = free_port(), free_port()
        echo = run_against(["bench/echo_server.py", str(p1)], p1,
                           lambda i: f"ws://127.0.0.1:{p1}/", n, False)
        serve = run_against(["-m", "chargeline", "serve", "--data-dir", data_dir, "--port",
                             str(p2), "--ping-interval", "300"], p2,
                            lambda i: f"ws://127.0.0.1:{p2}/ocpp/CP{i:06d}", n, True)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    report("connections", {"serve": serve, "echo_baseline": echo,
                           "memory_ratio_vs_echo": serve["kib_per_connection"]
                           / max(echo["kib_per_connection"], 1e-9),
                           "target": "20000 chargers under 1024 MiB"},
           [("chargers held", n), ("serve RSS held MiB", round(serve["rss_held_mib"])),
            ("serve KiB/connection", round(serve["kib_per_connection"], 1)),
            ("echo KiB/connection", round(echo["kib_per_connection"], 1)),
            ("serve reconnect storm s", round(serve["reconnect_storm_s"], 1)),
            ("echo reconnect storm s", round(echo["reconnect_storm_s"], 1))])


if __name__ == "__main__":
    main()
