"""``chargeline api``: the read-only driver API (live sessions, connector availability, their
server-sent events; docs/api.md). ``chargeline api clients add|remove|list``: its clients."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("api", help="serve the read-only driver API (or manage its clients)")
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8090, help="port (0: any free port)")
    p.add_argument("--refresh", type=float, default=1.0,
                   help="seconds a read is shared by every client (default 1)")
    p.add_argument("--country-code", default="XX",
                   help="your OCPI country code (ISO 3166-1 alpha-2) for /ocpi/2.2.1")
    p.add_argument("--party-id", default="XXX", help="your OCPI party id (3 characters)")
    verbs = p.add_subparsers(dest="verb")
    clients = verbs.add_parser("clients", help="the API's clients, one token each")
    what = clients.add_subparsers(dest="clients_verb", required=True)
    add = what.add_parser("add", help="a new client: its token is printed once")
    add.add_argument("name")
    rm = what.add_parser("remove", help="revoke a client's token")
    rm.add_argument("name")
    what.add_parser("list", help="the clients' names")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.verb == "clients":
        return manage(args)
    if args.refresh <= 0:
        print(f"chargeline api: --refresh must be > 0, got {args.refresh}", file=sys.stderr)
        return 2
    import asyncio

    import uvicorn

    from chargeline.api.app import create_app
    from chargeline.ocpi.objects import Party

    app = create_app(args.data_dir, Party(args.country_code, args.party_id),
                     ttl_s=args.refresh, poll_s=args.refresh)
    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port,
                                           log_level="warning"))

    async def main() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():  # noqa: ASYNC110 (uvicorn has no started event)
            await asyncio.sleep(0.05)
        if server.started:
            host, port = server.servers[0].sockets[0].getsockname()[:2]
            print(f"chargeline api: http://{host}:{port}/v1 (OpenAPI at /openapi.json)",
                  file=sys.stderr, flush=True)
        await serving

    asyncio.run(main())
    return 0 if server.started else 1


def manage(args: argparse.Namespace) -> int:
    from canonical.errors import ConfigError
    from chargeline.api.clients import ClientStore

    store = ClientStore.in_dir(args.data_dir)
    if args.clients_verb == "list":
        for name in store.names():
            print(name)
        return 0
    if args.clients_verb == "add":
        print(store.add(args.name))
        print(f"client {args.name} added: its token above is shown once", file=sys.stderr)
        return 0
    if not store.remove(args.name):
        raise ConfigError(f"no API client {args.name!r}")
    print(f"client {args.name} removed", file=sys.stderr)
    return 0
