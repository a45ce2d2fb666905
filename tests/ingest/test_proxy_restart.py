"""Proxy mode across a restart of chargeline (kill -9 and SIGTERM): the charger and the
upstream reconnect; every CALL the charger got an answer to is in the journal with its answer,
once per time it was received; nothing is journaled that the charger did not send."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
import websockets

from canonical.enums import Direction
from chargeline.ports import free_port, wait_port
from tests.ingest.conftest import journal_frames
from tests.ingest.upstream_csms import upstream_csms


def _serve(data: Path, port: int, upstream: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "chargeline", "serve", "--data-dir",
                             str(data), "--port", str(port), "--upstream", upstream,
                             "--no-admin"], stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


async def _charger(port: int, sent: list[str], answered: list[str], stop: asyncio.Event) -> None:
    """Heartbeats one after the other; after a drop it reconnects and resends the one
    not answered, under its message id, as chargers do."""
    n, unanswered = 0, None
    while not stop.is_set():
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/CP-R",
                                          subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                          open_timeout=2) as ws:
                while not stop.is_set():
                    if unanswered is None:
                        n += 1
                        unanswered = f"hb-{n}"
                    sent.append(unanswered)
                    await ws.send(orjson.dumps([2, unanswered, "Heartbeat", {}]).decode())
                    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                    assert reply[1] == unanswered
                    answered.append(unanswered)
                    unanswered = None
                    await asyncio.sleep(0.02)
        except (OSError, TimeoutError, websockets.ConnectionClosed, websockets.InvalidStatus):
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_restart_loses_and_repeats_nothing(tmp_path: Path, how: signal.Signals) -> None:
    port = free_port()
    sent: list[str] = []
    answered: list[str] = []

    async def scenario() -> list[str]:
        async with upstream_csms() as up:
            proc = _serve(tmp_path, port, up.url)
            stop = asyncio.Event()
            charger = asyncio.create_task(_charger(port, sent, answered, stop))
            try:
                await asyncio.sleep(1.0)
                proc.send_signal(how)
                await asyncio.to_thread(proc.wait, 20)
                before = len(answered)
                proc = _serve(tmp_path, port, up.url)
                while len(answered) < before + 20:
                    await asyncio.sleep(0.05)
            finally:
                stop.set()
                await asyncio.wait_for(charger, 10)
                proc.terminate()
                await asyncio.to_thread(proc.wait, 20)
            return list(up.paths)

    paths = asyncio.run(scenario())
    assert len(paths) >= 2, "the upstream saw the charger again after the restart"
    frames = journal_frames(tmp_path, "CP-R")
    calls = Counter(f.message_id for f in frames
                    if f.direction == Direction.inbound and f.message_type == 2)
    answers = Counter(f.message_id for f in frames
                      if f.direction == Direction.outbound and f.message_type == 3)
    sends = Counter(sent)
    assert set(answered) <= set(answers), "every answer the charger got is journaled"
    assert set(answered) <= set(calls), "every CALL answered is journaled"
    assert all(calls[m] <= sends[m] for m in calls), "nothing journaled twice"
    assert all(answers[m] <= calls[m] for m in answers)
    if how == signal.SIGTERM:
        # a clean stop: all it read it journaled; unread at most the CALL in flight at the
        # stop (resent after) and the one the test's end cut off
        assert sum((sends - calls).values()) <= 2
