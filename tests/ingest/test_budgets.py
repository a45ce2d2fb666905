"""Each charge point's budget of frames and bytes, kept across its connections (issue 15,
item 5): reconnecting does not refill it, big frames spend it by their size, and the map of
budgets stays bounded whatever ids are tried."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import websockets

from canonical.enums import RecordKind
from ingest.ratelimit import ChargerBudgets
from tests.ingest.conftest import journal_records, running_server
from tests.reliability.figures import report

KIB = 1024


async def send_and_wait(port: int, cp_id: str, frames: list[str]) -> float:
    """Seconds one connection takes to have ``frames`` (CALLs) all answered."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{cp_id}",
                                  subprotocols=["ocpp1.6"], max_size=None) as ws:  # type: ignore[list-item]
        t0 = time.monotonic()
        for frame in frames:
            await ws.send(frame)
        for _ in frames:
            assert orjson.loads(await ws.recv())[0] == 3
        return time.monotonic() - t0


def heartbeats(n: int) -> list[str]:
    return [f'[2,"h{i}","Heartbeat",{{}}]' for i in range(n)]


def data_transfers(n: int, size: int) -> list[str]:
    return [orjson.dumps([2, f"d{i}", "DataTransfer", {"vendorId": "x", "data": "x" * size}])
            .decode() for i in range(n)]


def test_reconnecting_does_not_refill_the_frame_budget(tmp_path: Path, run: Any) -> None:
    """10 frames spend the burst; a new connection of the same charger does not get it back
    (it did: the bucket was the connection's), while another charger still has its own."""
    async def scenario() -> tuple[float, float, float]:
        async with running_server(tmp_path, rate_per_s=20, burst=10) as cs:
            first = await send_and_wait(cs.port, "CP-R", heartbeats(10))
            again = await send_and_wait(cs.port, "CP-R", heartbeats(10))
            other = await send_and_wait(cs.port, "CP-O", heartbeats(10))
            return first, again, other

    first, again, other = run(scenario())
    report("test_reconnecting_does_not_refill_the_frame_budget", first_s=round(first, 3),
           again_s=round(again, 3), other_charger_s=round(other, 3))
    assert first < 0.4 and other < 0.4
    assert again > 0.35  # 10 frames at 20/s, less what refilled while reconnecting


def test_bytes_are_budgeted_per_charger_across_connections(tmp_path: Path, run: Any) -> None:
    """100 KiB frames against 200 KiB/s with a 300 KiB burst: three pass at once, then the
    charger waits for its bytes — on its next connection too. Journaled: one rate_limited
    record with the byte budget in it."""
    async def scenario() -> tuple[float, float]:
        async with running_server(tmp_path, charger_bytes_per_s=200 * KIB,
                                  charger_burst_bytes=300 * KIB) as cs:
            burst = await send_and_wait(cs.port, "CP-BIG", data_transfers(3, 100 * KIB))
            over = await send_and_wait(cs.port, "CP-BIG", data_transfers(3, 100 * KIB))
            return burst, over

    burst, over = run(scenario())
    report("test_bytes_are_budgeted_per_charger_across_connections", burst_s=round(burst, 3),
           next_connection_s=round(over, 3))
    assert burst < 0.4
    assert over > 1.0  # ~300 KiB over the budget at 200 KiB/s, less the refill meanwhile
    limited = journal_records(tmp_path, RecordKind.rate_limited)
    assert [r.charge_point_id for r in limited] == ["CP-BIG"]
    detail = orjson.loads(limited[0].raw)
    assert detail["bytes_per_s"] == 200 * KIB and detail["burst_bytes"] == 300 * KIB


def test_the_budget_map_is_bounded_and_keeps_the_recent() -> None:
    budgets = ChargerBudgets(1.0, 5, 100.0, 1000, max_tracked=1000)
    budgets.of("CP-KEPT").take(0.0, 1000)
    for n in range(5000):
        budgets.of(f"KNOCK-{n}")
        if n % 100 == 0:
            budgets.of("CP-KEPT")  # still talking: never the oldest
    assert len(budgets) == 1000
    assert budgets.of("CP-KEPT").bytes.tokens < 1  # its spent budget was not forgotten
