"""``chargeline serve``: the OCPP 1.6J / 2.0.1 ingest endpoint."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the OCPP central system, journaling every frame")
    add_server_arguments(p)
    p.set_defaults(func=run)


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--default-protocol", choices=["ocpp1.6", "ocpp2.0.1"], default="ocpp1.6",
                   help="for chargers that offer no Sec-WebSocket-Protocol")
    p.add_argument("--heartbeat-interval", type=int, default=300, help="seconds")
    p.add_argument("--max-frame-bytes", type=int, default=1024 * 1024)
    p.add_argument("--ping-interval", type=float, default=30.0,
                   help="seconds; a peer silent to a ping as long again is dropped")
    p.add_argument("--send-timeout", type=float, default=30.0,
                   help="seconds a frame may wait for a peer that stopped reading")
    p.add_argument("--close-timeout", type=float, default=10.0,
                   help="seconds to wait for a closing handshake before dropping the socket")
    p.add_argument("--open-timeout", type=float, default=60.0,
                   help="seconds an accepted connection may take to complete its opening "
                        "handshake (queued ones in a reconnect storm count too)")
    p.add_argument("--auth", action="store_true",
                   help="require HTTP Basic auth; unknown charge points are refused")
    p.add_argument("--unknown-chargers", choices=["reject", "accept"], default="reject",
                   help="with --auth: accept (and flag) charge points not registered")
    p.add_argument("--tls-cert", type=Path)
    p.add_argument("--tls-key", type=Path)
    p.add_argument("--tls-client-ca", type=Path,
                   help="security profile 3: require client certificates from this CA")
    p.add_argument("--rate", type=float, default=200.0,
                   help="frames/s per charger (burst: twice as many), across its connections")
    p.add_argument("--rate-bytes", type=float, default=16 * 1024, metavar="BYTES_PER_S",
                   help="bytes/s per charger, across its connections (a charger over it is "
                        "slowed, not refused)")
    p.add_argument("--burst-bytes", type=int, default=2 * 1024 * 1024,
                   help="bytes a charger may send at once before --rate-bytes applies")
    p.add_argument("--max-connections-per-address", type=int, default=64, metavar="N",
                   help="concurrent connections one remote address may hold (0: no cap); "
                        "over it, 503 at once")
    p.add_argument("--uncapped-address", action="append", metavar="ADDR",
                   help="an address the cap never applies to, e.g. a reverse proxy's "
                        "(repeatable; default: 127.0.0.1 and ::1)")
    p.add_argument("--auth-hash-queue", type=int, default=16, metavar="N",
                   help="password hashes that may wait; past that a handshake needing one "
                        "gets 503")


def config_from(args: argparse.Namespace) -> Any:
    from canonical.enums import Protocol
    from ingest.config import ServerConfig

    return ServerConfig(
        data_dir=args.data_dir, host=args.host, port=args.port,
        default_protocol=Protocol(args.default_protocol),
        heartbeat_interval_s=args.heartbeat_interval, max_frame_bytes=args.max_frame_bytes,
        ping_interval_s=args.ping_interval, ping_timeout_s=args.ping_interval,
        send_timeout_s=args.send_timeout, close_timeout_s=args.close_timeout,
        open_timeout_s=args.open_timeout,
        require_auth=args.auth, accept_unknown=args.unknown_chargers == "accept",
        tls_cert=args.tls_cert, tls_key=args.tls_key, tls_client_ca=args.tls_client_ca,
        rate_per_s=args.rate,
        burst=max(1, int(args.rate * 2)),
        charger_bytes_per_s=args.rate_bytes, charger_burst_bytes=args.burst_bytes,
        max_connections_per_address=args.max_connections_per_address,
        uncapped_addresses=tuple(args.uncapped_address or ("127.0.0.1", "::1")),
        auth_hash_queue=args.auth_hash_queue)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = config_from(args)
    raise_open_files_limit()
    asyncio.run(serve_until_stopped(config))
    return 0


def raise_open_files_limit() -> int:
    """Soft ``RLIMIT_NOFILE`` up to the hard limit: each charger holds a socket, and the
    usual soft 1,024 would refuse the 1,021st charger (accept fails with EMFILE)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        logging.getLogger("chargeline.ingest").info("open files limit raised %d -> %d",
                                                     soft, hard)
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def serve_until_stopped(config: Any) -> None:
    from ingest.server import CentralSystem

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with CentralSystem(config) as cs:
        scheme = "wss" if config.tls_cert else "ws"
        print(f"chargeline serve: {scheme}://{config.host}:{cs.port}/ocpp/<charge_point_id>",
              file=sys.stderr, flush=True)
        await stop.wait()
