"""A good charger's handshake while bad ones flood the door: ``chargeline serve --auth`` with a
registered charger, its handshake latency alone (the baseline, same run) and while ``--bad``
clients loop on wrong Basic credentials (unknown ids and a known id with a wrong password, each
a 16 MiB scrypt for the server).

    python -m bench.handshake_flood [--bad 200] [--tries 200] [--server-src DIR --result NAME]

``--server-src`` runs the server from another checkout (e.g. a ``git worktree`` of an older
commit) to measure before a change. Handshakes are raw HTTP upgrades timed to the status line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._common import free_port, percentile, report, wait_port

PASSWORD = "correct-horse-battery"
UPGRADE = ("GET /ocpp/{cp} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\n"
           "Sec-WebSocket-Protocol: ocpp1.6\r\nAuthorization: Basic {token}\r\n\r\n")


def upgrade(cp_id: str, user: str, password: str) -> bytes:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return UPGRADE.format(cp=cp_id, token=token).encode()


async def handshake(port: int, request: bytes, timeout_s: float = 30.0) -> tuple[int, float]:
    """(HTTP status, seconds from connect to the status line) of one upgrade request."""
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), timeout_s)
        status = int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else 0
        return status, time.perf_counter() - t0
    finally:
        writer.close()


async def flooder(port: int, n: int, stop: Any, statuses: Counter[int]) -> None:
    """Loops on bad credentials: odd ones an unknown id, even ones a known id."""
    cp_id = "CP-GOOD" if n % 2 == 0 else f"BAD-{n}"
    request = upgrade(cp_id, cp_id, f"wrong-password-{n:04d}")
    while not stop.is_set():
        try:
            status, _ = await handshake(port, request)
        except (OSError, TimeoutError):
            status = 0
        statuses[status] += 1


async def flood_until_stdin_closes(port: int, bad: int) -> dict[str, Any]:
    """``bad`` flooders until stdin closes; their rate and statuses."""
    loop, stop, statuses = asyncio.get_running_loop(), asyncio.Event(), Counter[int]()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)),
                     daemon=True).start()
    t0 = time.perf_counter()
    await asyncio.gather(*(flooder(port, n, stop, statuses) for n in range(bad)))
    return {"bad_handshakes_per_s": round(sum(statuses.values()) / (time.perf_counter() - t0), 1),
            "bad_statuses": {str(k): v for k, v in sorted(statuses.items())}}


@contextlib.contextmanager
def flooding(port: int, bad: int) -> Iterator[dict[str, Any]]:
    """The flood in a process of its own (``--flood``: the good client's timings are not its
    own event loop's delays) while the block runs; the dict gets its figures at the end."""
    process = subprocess.Popen([sys.executable, "-m", "bench.handshake_flood", "--flood",
                                str(port), "--bad", str(bad)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, cwd=Path(__file__).parents[1])
    figures: dict[str, Any] = {}
    try:
        time.sleep(1.5)  # the process starts, the flood builds its queue
        yield figures
    finally:
        out, _ = process.communicate(timeout=60)  # closes stdin: the flood stops
        figures.update(json.loads(out))


async def good_handshakes(port: int, tries: int) -> list[float]:
    """Seconds per handshake of the registered charger, one after the other."""
    request = upgrade("CP-GOOD", "CP-GOOD", PASSWORD)
    times = []
    for _ in range(tries):
        status, seconds = await handshake(port, request)
        assert status == 101, status
        times.append(seconds)
    return times


async def first_contact(port: int, cp_id: str) -> tuple[float, int]:
    """A registered charger never seen since start (its password not verified yet): seconds
    until it is let in, retrying 0.1 s after each 503, and how many 503s it got."""
    request, busy, t0 = upgrade(cp_id, cp_id, PASSWORD), 0, time.perf_counter()
    while True:
        status, _ = await handshake(port, request)
        if status == 101:
            return time.perf_counter() - t0, busy
        assert status == 503, status
        busy += 1
        await asyncio.sleep(0.1)


def under_flood(port: int, bad: int, tries: int, newcomers: list[str]) -> dict[str, Any]:
    """Good handshakes alone, then with ``bad`` flooders looping; the figures of both."""
    alone = asyncio.run(good_handshakes(port, tries))
    with flooding(port, bad) as figures:
        flooded = asyncio.run(good_handshakes(port, tries))
        firsts = [asyncio.run(first_contact(port, cp_id)) for cp_id in newcomers]
    return {"alone": summary(alone), "flood": summary(flooded), **figures,
            "first_contact_s": [round(s, 3) for s, _ in firsts],
            "first_contact_503s": [n for _, n in firsts]}


def summary(seconds: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(seconds, 0.5) * 1000, 2),
            "p99_ms": round(percentile(seconds, 0.99) * 1000, 2),
            "max_ms": round(max(seconds) * 1000, 2), "n": len(seconds)}


def register(data_dir: Path, ids: list[str], src: Path) -> None:
    for cp_id in ids:
        subprocess.run([sys.executable, "-m", "chargeline", "chargers", "add", cp_id,
                        "--password", PASSWORD, "--data-dir", str(data_dir)],
                       check=True, cwd=src, capture_output=True)


def run(bad: int, tries: int, src: Path) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    newcomers = [f"CP-NEW-{i}" for i in range(5)]
    register(data_dir, ["CP-GOOD", *newcomers], src)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(src)}
    server = subprocess.Popen([sys.executable, "-m", "chargeline", "serve", "--auth",
                               "--data-dir", str(data_dir), "--port", str(port)], cwd=src,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        return under_flood(port, bad, tries, newcomers)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bad", type=int, default=200, help="concurrent bad clients")
    parser.add_argument("--tries", type=int, default=200, help="good handshakes per phase")
    parser.add_argument("--server-src", type=Path, default=Path.cwd(),
                        help="checkout to run the server from (default: this one)")
    parser.add_argument("--result", default="handshake_flood",
                        help="name of the result file under bench/results")
    parser.add_argument("--flood", type=int, metavar="PORT",
                        help="only flood PORT until stdin closes, then print figures (JSON)")
    args = parser.parse_args()
    if args.flood:
        print(json.dumps(asyncio.run(flood_until_stdin_closes(args.flood, args.bad))))
        return
    result = run(args.bad, args.tries, args.server_src.resolve())
    result = {"bad_clients": args.bad, "server_src": str(args.server_src),
              "load_avg_1m": round(os.getloadavg()[0], 2), **result}
    report(args.result, result, list(itertools.chain(
        [(f"alone {k}", v) for k, v in result["alone"].items()],
        [(f"flood {k}", v) for k, v in result["flood"].items()],
        [("bad handshakes/s", result["bad_handshakes_per_s"]),
         ("bad statuses", result["bad_statuses"]),
         ("first contact s (503s)", list(zip(result["first_contact_s"],
                                             result["first_contact_503s"], strict=True)))])))


if __name__ == "__main__":
    main()
