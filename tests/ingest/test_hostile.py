"""Faults at the front door: full disk, slow handshakes, floods, hostile frames."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canonical.enums import Protocol, RecordKind
from ingest.connection import ChargerConnection, Shared
from ingest.transactions import TransactionRegistry
from tests.ingest.conftest import journal_frames, journal_records, running_server


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs: a real file system that really fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                            capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_full_disk_refuses_calls_loudly_and_recovers(small_disk: Path, run: Any) -> None:
    async def call(ws: Any, mid: str) -> Any:
        await ws.send(orjson.dumps([2, mid, "Heartbeat", {}]).decode())
        return orjson.loads(await ws.recv())

    async def scenario() -> list[Any]:
        async with running_server(small_disk) as cs, websockets.connect(
                f"ws://127.0.0.1:{cs.port}/ocpp/CP-F", subprotocols=["ocpp1.6"]) as ws:
            before = await call(ws, "before")
            filler = fill(small_disk)
            during = [await call(ws, f"during-{i}") for i in range(3)]
            filler.unlink()
            after = await call(ws, "after")
            return [before, *during, after]

    answers = run(scenario())
    assert [a[0] for a in answers] == [3, 4, 4, 4, 3]
    assert answers[1][2] == "InternalError"
    acked = {a[1] for a in answers if a[0] == 3}
    journaled = {f.message_id for f in journal_frames(small_disk) if f.direction == "in"}
    assert acked == {"before", "after"} and acked <= journaled
    assert not any(m.startswith("during") for m in journaled if m)


def test_slowloris_handshake_is_dropped(tmp_path: Path, run: Any) -> None:
    async def scenario() -> float:
        async with running_server(tmp_path, open_timeout_s=0.5) as cs:
            sock = socket.create_connection(("127.0.0.1", cs.port))
            sock.sendall(b"GET /ocpp/CP-S HTTP/1.1\r\nHost: x\r\n")  # never finishes
            sock.settimeout(5)
            t0 = time.monotonic()
            data = await asyncio.to_thread(sock.recv, 1024)
            sock.close()
            assert data == b"" or b"HTTP/1.1" in data
            return time.monotonic() - t0

    assert run(scenario()) < 3


def test_flooding_charger_is_slowed_not_refused_and_recorded(tmp_path: Path, run: Any) -> None:
    async def flood(port: int) -> float:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/CP-FLOOD",
                                      subprotocols=["ocpp1.6"]) as ws:
            t0 = time.monotonic()
            for i in range(60):
                await ws.send(orjson.dumps([2, str(i), "Heartbeat", {}]).decode())
            for _ in range(60):
                assert orjson.loads(await ws.recv())[0] == 3
            return time.monotonic() - t0

    async def polite(port: int) -> float:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ocpp/CP-OK",
                                      subprotocols=["ocpp1.6"]) as ws:
            t0 = time.monotonic()
            await ws.send('[2,"p","Heartbeat",{}]')
            await ws.recv()
            return time.monotonic() - t0

    async def scenario() -> tuple[float, float]:
        async with running_server(tmp_path, rate_per_s=50, burst=10) as cs:
            flooded, other = await asyncio.gather(flood(cs.port), polite(cs.port))
            return flooded, other

    flooded, other = run(scenario())
    assert flooded > 0.8  # 50 frames over the burst at 50/s
    assert other < 0.5
    # One record per throttled episode: usually one; a slow disk can let the bucket refill
    # between fsyncs and start a second.
    limited = [r.charge_point_id for r in journal_records(tmp_path, RecordKind.rate_limited)]
    assert limited and set(limited) == {"CP-FLOOD"}, limited
    assert len([f for f in journal_frames(tmp_path, "CP-FLOOD") if f.direction == "in"]) == 60


SHARED = Shared(journal=None, transactions=TransactionRegistry(), heartbeat_interval_s=300,  # type: ignore[arg-type]
                max_frame_bytes=4096, rate_per_s=1.0, burst=1)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=20)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.binary(max_size=6000) | JSON.map(lambda v: json.dumps(v).encode())
       | st.tuples(st.sampled_from([2, 3, 4, 5, "2"]), st.text(max_size=40), st.text(max_size=30), JSON).map(
           lambda t: json.dumps(list(t)).encode()),
       protocol=st.sampled_from(list(Protocol)))
def test_any_bytes_get_a_record_and_at_most_one_valid_answer(data: bytes, protocol: Protocol) -> None:
    conn = ChargerConnection(SHARED, None, "CP-FUZZ", protocol)  # type: ignore[arg-type]
    inbound, answer = conn.judge(data)
    assert inbound.direction == "in" and inbound.charge_point_id == "CP-FUZZ"
    if answer is not None:
        frame = orjson.loads(answer.raw)
        assert frame[0] in (3, 4) and isinstance(frame[1], str)
        if frame[0] == 4:
            assert isinstance(frame[2], str) and frame[2]
    else:
        assert inbound.message_type in (3, 4)


def test_deeply_nested_frame_is_answered(tmp_path: Path, run: Any) -> None:
    deep = '[2,"deep","DataTransfer",{"vendorId":"x","data":' + "[" * 5000 + "]" * 5000 + "}]"

    async def scenario() -> Any:
        async with running_server(tmp_path) as cs, websockets.connect(
                f"ws://127.0.0.1:{cs.port}/ocpp/CP-DEEP", subprotocols=["ocpp1.6"]) as ws:
            await ws.send(deep)
            return orjson.loads(await ws.recv())

    answer = run(scenario())
    assert answer[0] in (3, 4) and answer[1] in ("deep", "-1")
    assert os.path.exists(tmp_path / "journal")
