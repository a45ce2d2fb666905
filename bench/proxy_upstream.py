"""The upstream of ``bench/proxy.py``: a minimal OCPP 1.6 central system that answers every
CALL at once with a CALLRESULT (BootNotification Accepted, Heartbeat its time, others ``{}``).

    python bench/proxy_upstream.py PORT

Any path, subprotocol ``ocpp1.6``; no journal, no state: the other end a proxy forwards to,
as cheap as an upstream can be, so the proxy's cost is what the benchmark sees.
"""

import asyncio
import datetime as dt
import sys

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def answer(message: str | bytes) -> str | None:
    """The CALLRESULT for a CALL; None for anything else (answers, garbage)."""
    try:
        frame = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(frame, list) or len(frame) < 3 or frame[0] != 2:
        return None
    action = frame[2] if len(frame) > 2 else ""
    if action == "BootNotification":
        payload = {"status": "Accepted", "currentTime": _now(), "interval": 300}
    elif action == "Heartbeat":
        payload = {"currentTime": _now()}
    else:
        payload = {}
    return orjson.dumps([3, frame[1], payload]).decode()


async def central_system(ws: ServerConnection) -> None:
    async for message in ws:
        reply = answer(message)
        if reply is not None:
            await ws.send(reply)


async def main(port: int) -> None:
    # backlog and open timeout as ``chargeline serve`` and bench/echo_server.py: 1,000
    # chargers connecting at once must not be dropped by websockets' defaults (100, 10 s)
    async with serve(central_system, "127.0.0.1", port, subprotocols=[Subprotocol("ocpp1.6")],
                     compression=None, max_size=None, open_timeout=60, backlog=4096):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
