"""Configuration of the ingest server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from canonical.enums import Protocol
from canonical.errors import ConfigError
from ingest.tokens import UnknownTokens
from ingest.upstream import UpstreamConfig

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``chargeline serve`` can be told. Sizes in bytes, times in seconds.

    ``max_frame_bytes``: larger frames get a CALLERROR and the connection stays up; frames
    above ``hard_frame_bytes`` make the WebSocket layer close the connection (1009).
    ``tls_client_ca``: security profile 3 — chargers must present a client certificate signed
    by this CA whose subject commonName is their charge point id.
    ``backlog``: pending TCP connections the kernel keeps, so a reconnect storm is queued,
    not dropped. ``open_timeout_s``: an accepted connection must finish its opening handshake
    within this; in a storm the queued ones count too, so it is long (60 s: 19,900 chargers
    reconnecting at once are all back in 28 s; at 10 s, 27k handshakes were cut after partial
    work and retried, 48 s). A silent opener (slowloris) holds a socket that long at most.
    ``rate_per_s``/``burst`` (frames) and ``charger_bytes_per_s``/``charger_burst_bytes``
    (bytes as received): each charge point's budget, kept across its connections (reconnecting
    does not refill it) for up to ``max_tracked_chargers`` ids; a charger over it is slowed
    down (its frames wait), never refused, so a flood cannot starve the others nor fill the
    disk at more than ``charger_bytes_per_s`` (16 KiB/s: 1.4 GB a day at most; a busy charger
    sends well under 1 KiB/s; one 1 MiB frame passes at once, a second waits).
    ``max_connections_per_address``: concurrent TCP connections one remote address may hold
    (0: no cap), counted from accept, so half-sent handshakes count; past it, 503 at once.
    ``uncapped_addresses`` are never capped: a reverse proxy on the same host shows every
    charger under its own address (loopback by default; list a remote proxy's here).
    ``auth_hash_workers``/``auth_hash_queue``: the scrypt lane (``ingest.gate.HashLane``); a
    handshake that needs a hash while ``auth_hash_queue`` wait is answered 503.
    ``upstream``: proxy mode (``ingest.proxy``): each charger connection is forwarded to the
    central system there, every frame journaled first.
    ``admin_port``: the admin API (``ingest.admin``) on ``admin_host`` (0: any free port,
    found through ``<data_dir>/admin.json``; None: no admin API).
    ``journal``/``node_id``: a Kafka journal shared by several ingest nodes, and which node
    this one is (``ingest.journal.backend``).
    ``unknown_tokens``: what an id token not in ``tokens.json`` gets (``ingest.tokens``).
    ``metrics``: answer a plain ``GET /metrics`` on the OCPP port with Prometheus metrics,
    behind the bearer token in ``metrics_token_file`` if given (``ingest.metrics``).
    Dead and slow peers: a peer silent to pings is dropped after ``ping_interval_s`` +
    ``ping_timeout_s`` + ``close_timeout_s``; one that stops reading (a frame to it waits more
    than ``send_timeout_s`` for buffer space) is cut off at once — pings cannot find it, as they
    queue behind the frame that waits.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 9000
    default_protocol: Protocol = Protocol.v16
    heartbeat_interval_s: int = 300
    max_frame_bytes: int = MIB
    hard_frame_bytes: int = 8 * MIB
    ping_interval_s: float | None = 30.0
    ping_timeout_s: float | None = 30.0
    open_timeout_s: float = 60.0
    close_timeout_s: float = 10.0
    send_timeout_s: float = 30.0
    require_auth: bool = False
    accept_unknown: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    rate_per_s: float = 200.0
    burst: int = 400
    compression: bool = False
    backlog: int = 4096
    max_connections_per_address: int = 64
    uncapped_addresses: tuple[str, ...] = ("127.0.0.1", "::1")
    auth_hash_workers: int = 1
    auth_hash_queue: int = 16
    charger_bytes_per_s: float = 16 * 1024
    charger_burst_bytes: int = 2 * MIB
    max_tracked_chargers: int = 100_000
    upstream: UpstreamConfig | None = None
    admin_host: str = "127.0.0.1"
    admin_port: int | None = None
    unknown_tokens: UnknownTokens = UnknownTokens.accept
    journal: str | None = None  # kafka://BROKERS/TOPIC; None: the files under data_dir
    node_id: int = 0  # on a shared journal: this node's (transaction ids, ingest/README.md)
    metrics: bool = True  # GET /metrics on the OCPP port (ingest.metrics, docs/metrics.md)
    metrics_token_file: Path | None = None  # if set, a scrape needs this bearer token

    def __post_init__(self) -> None:
        if not 0 <= self.node_id < 32:
            raise ConfigError(f"node id must be 0-31, got {self.node_id}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0-65535, got {self.port}")
        if self.max_frame_bytes > self.hard_frame_bytes:
            raise ConfigError(f"max_frame_bytes {self.max_frame_bytes} exceeds "
                              f"hard_frame_bytes {self.hard_frame_bytes}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("--tls-cert and --tls-key go together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise ConfigError("--tls-client-ca (security profile 3) needs --tls-cert/--tls-key")
        if self.close_timeout_s <= 0 or self.send_timeout_s <= 0:
            raise ConfigError(f"close and send timeouts must be > 0, got "
                              f"{self.close_timeout_s}/{self.send_timeout_s}")
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ConfigError(
                f"rate must be > 0 and burst >= 1, got {self.rate_per_s}/{self.burst}")
        if self.charger_bytes_per_s <= 0 or self.charger_burst_bytes < 1:
            raise ConfigError(f"bytes per second must be > 0 and burst bytes >= 1, got "
                              f"{self.charger_bytes_per_s}/{self.charger_burst_bytes}")
        if self.max_connections_per_address < 0:
            raise ConfigError(f"connections per address must be >= 0 (0: no cap), got "
                              f"{self.max_connections_per_address}")
