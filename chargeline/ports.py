"""Local TCP ports: a free one to listen on, and waiting until something listens on one.
Used by ``chargeline flow --processes`` (its cluster's addresses), the benchmarks and tests."""

from __future__ import annotations

import socket
import time
from pathlib import Path


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 20.0) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``; TimeoutError after
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def wait_listening(port: int, timeout_s: float = 10.0) -> bool:
    """Wait until a socket listens on local ``port`` without connecting to it (a peer that
    counts its incoming connections, as a Bytewax cluster member does, must not see a probe),
    by reading the kernel's socket tables. True once listening; False after ``timeout_s`` or
    where ``/proc/net/tcp`` is not there (then the caller proceeds as it would have)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return False
    wanted = f":{port:04X}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for table in tables:
            try:
                lines = table.read_text().splitlines()[1:]
            except OSError:
                continue
            # columns: sl local_address rem_address st ...; st 0A is LISTEN
            if any(f[1].endswith(wanted) and f[3] == "0A" for f in (ln.split() for ln in lines)):
                return True
        time.sleep(0.01)
    return False
