"""``chargeline serve``: the OCPP 1.6J / 2.0.1 / 2.1 ingest endpoint."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from canonical.enums import Protocol


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the OCPP central system, journaling every frame")
    add_server_arguments(p)
    p.set_defaults(func=run)


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--default-protocol", choices=[v.value for v in Protocol], default="ocpp1.6",
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
    p.add_argument("--upstream", metavar="ws[s]://HOST:PORT/PATH",
                   help="proxy mode: forward every charger to this central system "
                        "(as PATH/<charge_point_id>), journaling every frame first")
    p.add_argument("--upstream-ca", type=Path, help="CA file for a wss:// upstream")
    p.add_argument("--upstream-down", choices=["refuse", "answer"], default="refuse",
                   help="upstream unreachable when a charger connects: refuse it (503), or "
                        "answer it here and reconcile later")
    p.add_argument("--upstream-lost", choices=["close", "hold"], default="close",
                   help="upstream drops mid-connection: close the charger's socket (it "
                        "reconnects), or hold it and redial for --upstream-retry seconds")
    p.add_argument("--upstream-retry", type=float, default=30.0, metavar="S")
    p.add_argument("--allow-commands", action="store_true",
                   help="proxy mode: let chargeline send its own commands too (the upstream "
                        "owns the chargers otherwise)")
    p.add_argument("--admin-host", default="127.0.0.1",
                   help="address of the admin API (commands to chargers)")
    p.add_argument("--admin-port", type=int, default=0,
                   help="port of the admin API (0: any free port; `chargeline send` finds it "
                        "through <data-dir>/admin.json)")
    p.add_argument("--no-admin", action="store_true", help="no admin API")
    p.add_argument("--auth-hash-queue", type=int, default=16, metavar="N",
                   help="password hashes that may wait; past that a handshake needing one "
                        "gets 503")
    p.add_argument("--journal", metavar="kafka://HOST:PORT[,...]/TOPIC",
                   help="journal to a Kafka topic shared by several serve nodes, instead of "
                        "the files under --data-dir (docs/scale.md)")
    p.add_argument("--node-id", type=int, default=0, metavar="N",
                   help="with --journal kafka://: this node's number, 0..31, unique among "
                        "the nodes (its block of 1.6 transaction ids)")
    p.add_argument("--unknown-tokens", choices=["accept", "reject"], default="accept",
                   help="id tokens not in tokens.json (chargeline tokens): accept, or reject "
                        "(1.6 Invalid, 2.0.1 Unknown)")
    p.add_argument("--metrics", choices=["on", "off"], default="on",
                   help="answer a plain GET /metrics on the OCPP port with Prometheus metrics "
                        "(fleet-wide counts, no ids or addresses; docs/metrics.md)")
    p.add_argument("--metrics-token-file", type=Path, metavar="FILE",
                   help="require `Authorization: Bearer <token>` with the token in FILE "
                        "(mode 0600) to scrape /metrics, as on a public port")
    p.add_argument("--recovery", choices=["off", "observe", "act"], default="observe",
                   help="stuck-session recovery agent: act sends the playbook's commands, "
                        "observe journals what it would send, off none (docs/recovery.md)")
    p.add_argument("--recovery-poll", type=float, default=15.0, metavar="S",
                   help="seconds between the agent's looks at the stuck sessions")
    p.add_argument("--firmware-poll", type=float, default=5.0, metavar="S",
                   help="seconds between the firmware rollout agent's looks (0: no agent; "
                        "docs/firmware.md)")


def config_from(args: argparse.Namespace) -> Any:
    from ingest.config import ServerConfig
    from ingest.tokens import UnknownTokens

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
        auth_hash_queue=args.auth_hash_queue, upstream=upstream_from(args),
        admin_host=args.admin_host, admin_port=None if args.no_admin else args.admin_port,
        unknown_tokens=UnknownTokens(args.unknown_tokens),
        journal=args.journal, node_id=args.node_id, metrics=args.metrics == "on",
        metrics_token_file=args.metrics_token_file)


def upstream_from(args: argparse.Namespace) -> Any:
    from ingest.upstream import UpstreamConfig, UpstreamDown, UpstreamLost

    if not args.upstream:
        return None
    return UpstreamConfig(args.upstream, args.upstream_ca, UpstreamDown(args.upstream_down),
                          UpstreamLost(args.upstream_lost), args.upstream_retry,
                          allow_commands=args.allow_commands)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from canonical.enums import RecoveryPolicy

    config = config_from(args)
    raise_open_files_limit()
    if args.recovery_poll <= 0:
        print(f"chargeline serve: --recovery-poll must be > 0, got {args.recovery_poll}",
              file=sys.stderr)
        return 2
    asyncio.run(serve_until_stopped(config, RecoveryPolicy(args.recovery), args.recovery_poll,
                                    args.firmware_poll))
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


async def serve_until_stopped(config: Any, recovery: Any = None,
                              recovery_poll_s: float = 15.0,
                              firmware_poll_s: float = 0.0) -> None:
    """Serve until SIGINT/SIGTERM; with a ``RecoveryPolicy`` other than off, the recovery
    agent (``chargeline.recovery``) runs beside it in the same loop; with ``firmware_poll_s``
    > 0, the firmware rollout agent (``chargeline.firmware.agent``) too."""
    from canonical.enums import RecoveryPolicy
    from chargeline.firmware.agent import RolloutAgent
    from chargeline.recovery import RecoveryAgent
    from ingest.server import CentralSystem

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with CentralSystem(config) as cs:
        scheme = "wss" if config.tls_cert else "ws"
        print(f"chargeline serve: {scheme}://{config.host}:{cs.port}/ocpp/<charge_point_id>",
              file=sys.stderr, flush=True)
        if config.metrics:
            http = "https" if config.tls_cert else "http"
            print(f"chargeline serve: metrics {http}://{config.host}:{cs.port}/metrics"
                  + (" (bearer token)" if config.metrics_token_file else ""),
                  file=sys.stderr, flush=True)
        if cs.admin is not None:
            print(f"chargeline serve: admin API {cs.admin.url} (token in "
                  f"{config.data_dir}/admin.token)", file=sys.stderr, flush=True)
        agents = []
        if recovery not in (None, RecoveryPolicy.off):
            assert cs.desk is not None
            agents.append(asyncio.create_task(RecoveryAgent(
                config.data_dir, cs.desk, cs.live, recovery, recovery_poll_s).run()))
        if firmware_poll_s > 0 and cs.desk is not None and config.journal is not None:
            print("chargeline serve: no firmware rollouts on a Kafka journal (the agent "
                  "settles its intents from the journal's files)", file=sys.stderr, flush=True)
        elif firmware_poll_s > 0 and cs.desk is not None:
            agents.append(asyncio.create_task(RolloutAgent(config.data_dir, cs.desk, cs.live,
                                                           firmware_poll_s).run()))
        await stop.wait()
        for agent in agents:
            agent.cancel()
