"""Raw-socket peers that misbehave below the WebSocket layer, and the half-open scenario.

``python -m tests.reliability.peers DATA_DIR`` runs the half-open scenario and prints its
figures as JSON; it must run in a network namespace of its own (``unshare -n``), because it
takes the loopback interface down to make a peer vanish without FIN or RST.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from canonical.enums import RecordKind
from ingest.journal import JournalReader
from tests.ingest.conftest import running_server


async def upgraded_socket(port: int, cp_id: str, rcvbuf: int | None = None) -> socket.socket:
    """A TCP socket that did the WebSocket handshake and will do nothing else by itself."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(b"0123456789abcdef").decode()
    sock.sendall((f"GET /ocpp/{cp_id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n").encode())
    sock.setblocking(False)
    head = b""
    for _ in range(500):
        try:
            head += sock.recv(1)
        except BlockingIOError:
            await asyncio.sleep(0.01)
        if b"\r\n\r\n" in head:
            break
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def freed_after(data_dir: Path, cp_id: str, t0: float, limit_s: float) -> float:
    """Seconds from ``t0`` until the journal records ``cp_id``'s disconnection."""
    while time.monotonic() - t0 < limit_s:
        if any(f.record_kind == RecordKind.disconnected and f.charge_point_id == cp_id
               for f in JournalReader(data_dir).frames()):
            return time.monotonic() - t0
        await asyncio.sleep(0.05)
    raise AssertionError(f"{cp_id} still held after {limit_s} s")


def link(state: str) -> None:
    subprocess.run(["ip", "link", "set", "lo", state], check=True)


async def half_open(data_dir: Path) -> dict[str, float]:
    """A peer that vanishes: the link drops every packet, no FIN, no RST, no more ACKs."""
    async with running_server(data_dir, ping_interval_s=0.5, ping_timeout_s=0.5,
                              close_timeout_s=0.5) as cs:
        sock = await upgraded_socket(cs.port, "CP-GONE")
        heartbeat = b'[2,"1","Heartbeat",{}]'  # a masked text frame, mask 0
        sock.sendall(bytes([0x81, 0x80 | len(heartbeat)]) + b"\0\0\0\0" + heartbeat)
        await asyncio.sleep(0.2)
        await asyncio.to_thread(link, "down")
        t0 = time.monotonic()
        freed = await freed_after(data_dir, "CP-GONE", t0, 10)
        live = len(cs.live)
        await asyncio.to_thread(link, "up")
        sock.close()
        return {"freed_s": freed, "live_after": live}


if __name__ == "__main__":
    link("up")
    print(json.dumps(asyncio.run(half_open(Path(sys.argv[1])))))
