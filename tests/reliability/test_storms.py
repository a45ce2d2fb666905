"""Storms against one ``chargeline serve``: thousands of chargers reconnecting at once after a
crash, and one charger reconnecting in a tight loop while the others keep talking. (A charger
flooding frames: tests/ingest/test_hostile.py.)"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets
from websockets.exceptions import InvalidHandshake

from canonical.enums import RecordKind
from ingest.journal import JournalReader
from tests.reliability.conftest import Process, rss_mib
from tests.reliability.figures import median_ms, p99_ms, report

STORM = 2_000
BOOT = '[2,"b","BootNotification",{"chargePointVendor":"Storm","chargePointModel":"S"}]'


async def connect_and_boot(url: str, rng: random.Random, retries: list[int]) -> Any:
    """As firmware does: retry with a little back-off until connected and booted."""
    for attempt in range(100):
        try:
            ws = await websockets.connect(url, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                          open_timeout=20, ping_interval=None,
                                          compression=None)
            await ws.send(BOOT)
            await asyncio.wait_for(ws.recv(), 20)
            return ws
        except (OSError, TimeoutError, InvalidHandshake, websockets.ConnectionClosed):
            retries.append(attempt)
            await asyncio.sleep(rng.uniform(0.05, 0.2) * min(attempt + 1, 5))
    raise AssertionError(f"{url}: not accepted after 100 attempts")


def connected_ids(data_dir: Path, after_frame: int) -> set[str]:
    return {f.charge_point_id for f in JournalReader(data_dir, after=after_frame).frames()
            if f.record_kind == RecordKind.connected}


def test_thousands_of_chargers_reconnect_at_once_after_a_crash(
        tmp_path: Path, server_factory: Callable[..., Process]) -> None:
    server = server_factory(tmp_path)
    urls = [f"ws://127.0.0.1:{server.port}/ocpp/STORM-{n:05d}" for n in range(STORM)]
    rng, retries = random.Random(1), []  # type: ignore[var-annotated]

    async def scenario() -> dict[str, float]:
        gate = asyncio.Semaphore(200)

        async def first(url: str) -> Any:
            async with gate:
                return await connect_and_boot(url, rng, [])

        conns = await asyncio.gather(*(first(u) for u in urls))
        held_mib = rss_mib(server.pid)
        before = max(f.frame_id for f in JournalReader(tmp_path).frames())
        await asyncio.to_thread(server.kill9)
        for ws in conns:
            ws.transport.abort()
        server_up = asyncio.create_task(asyncio.to_thread(server.start))
        t0 = time.monotonic()
        conns = await asyncio.gather(*(connect_and_boot(u, rng, retries) for u in urls))
        storm_s = time.monotonic() - t0
        await server_up
        beat = time.monotonic()
        await asyncio.gather(*(ws.send('[2,"h","Heartbeat",{}]') for ws in conns))
        await asyncio.gather(*(ws.recv() for ws in conns))
        beat_s = time.monotonic() - beat
        figures = {"storm_s": storm_s, "heartbeat_round_s": beat_s, "held_rss_mib": held_mib,
                   "rss_mib": rss_mib(server.pid), "peak_rss_mib": rss_mib(server.pid, "VmHWM"),
                   "before": before}
        await asyncio.gather(*(ws.close() for ws in conns))
        return figures

    figures = asyncio.run(scenario())
    server.stop()
    assert connected_ids(tmp_path, int(figures.pop("before"))) == {u.rsplit("/", 1)[1] for u in urls}
    assert figures["storm_s"] < 20
    assert figures["peak_rss_mib"] < 400
    report("test_thousands_of_chargers_reconnect_at_once_after_a_crash", chargers=STORM,
           retries=len(retries), **{k: round(v, 2) for k, v in figures.items()})


def test_a_charger_reconnecting_in_a_loop_does_not_slow_the_others(
        tmp_path: Path, server_factory: Callable[..., Process]) -> None:
    server = server_factory(tmp_path)
    base = f"ws://127.0.0.1:{server.port}/ocpp"

    async def heartbeats(cp: str, until: float, latencies: list[float]) -> None:
        async with websockets.connect(f"{base}/{cp}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
            while time.monotonic() < until:
                t0 = time.monotonic()
                await ws.send('[2,"h","Heartbeat",{}]')
                await ws.recv()
                latencies.append(time.monotonic() - t0)
                await asyncio.sleep(0.05)

    async def loop(until: float) -> int:
        loops = 0
        while time.monotonic() < until:
            async with websockets.connect(f"{base}/CP-LOOP", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
                await ws.send(BOOT)
                await ws.recv()
            loops += 1
        return loops

    async def phase(seconds: float, looping: bool) -> tuple[list[float], int]:
        until, latencies = time.monotonic() + seconds, []  # type: ignore[var-annotated]
        others = [heartbeats(f"CP-{n:02d}", until, latencies) for n in range(20)]
        results = await asyncio.gather(*others, *([loop(until)] if looping else []))
        return latencies, (results[-1] if looping else 0)

    quiet, _ = asyncio.run(phase(2, looping=False))
    noisy, loops = asyncio.run(phase(5, looping=True))
    server.stop()
    connects = [f for f in JournalReader(tmp_path).frames()
                if f.record_kind == RecordKind.connected and f.charge_point_id == "CP-LOOP"]
    assert len(connects) == loops > 100
    assert statistics.median(noisy) < 0.05 and p99_ms(noisy) < 250
    report("test_a_charger_reconnecting_in_a_loop_does_not_slow_the_others",
           loops=loops, loops_per_s=round(loops / 5, 1), others=20,
           heartbeat_median_ms_quiet=median_ms(quiet), heartbeat_p99_ms_quiet=p99_ms(quiet),
           heartbeat_median_ms_looping=median_ms(noisy), heartbeat_p99_ms_looping=p99_ms(noisy))
