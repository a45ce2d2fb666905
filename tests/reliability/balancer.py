"""A TCP load balancer sticky by charge point id, for tests and benchmarks on one machine.

What HAProxy's ``balance uri`` with ``hash-type consistent`` does in front of real ingest
nodes (docs/scale.md): it reads the HTTP upgrade request's first line, takes the charge
point id from the path, and sends the connection to the first node in that id's rendezvous
order that accepts a TCP connection; then it only copies bytes. A node that is down is
skipped, so its chargers move to the others when they reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib


def node_order(charge_point_id: str, nodes: list[int]) -> list[int]:
    """Rendezvous hashing: every charger has its own order of the nodes (the first is its
    home; the rest, in order, where it goes when the ones before are down)."""
    return sorted(nodes, key=lambda port: hashlib.blake2b(
        f"{charge_point_id}@{port}".encode(), digest_size=8).digest())


class StickyBalancer:
    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.server: asyncio.Server | None = None
        self.routes: list[tuple[str, int]] = []  # (charge point id, backend port), each time

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            cp_id = path.rstrip("/").rsplit("/", 1)[-1]
            for port in node_order(cp_id, self.backends):
                with contextlib.suppress(OSError):
                    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                    break
            else:
                return
            self.routes.append((cp_id, port))
            up_writer.write(head)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError, OSError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()
