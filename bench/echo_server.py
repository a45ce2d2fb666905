"""The baseline: a plain websockets echo server (no parsing, no journal)."""

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def main(port: int) -> None:
    # The accept backlog and opening-handshake timeout of ``chargeline serve`` (4096, 60 s),
    # so that a reconnect storm compares the servers, not their settings (websockets' defaults,
    # 100 and 10 s, drop SYNs and cut queued handshakes, and the clients retry).
    async with serve(echo, "127.0.0.1", port, compression=None, max_size=None,
                     open_timeout=60, backlog=4096):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
