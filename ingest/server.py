"""The ingest endpoint: an OCPP-J central system on ``websockets``' asyncio server.

It moves bytes and calls pure functions (admission, framing, answers); every frame in both
directions and every connection event is journaled, and a charger's CALL is answered only once
the CALL is durable. Use::

    async with CentralSystem(ServerConfig(data_dir=...)) as cs:
        ...  # cs.port is the bound port
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from canonical import RawFrame
from canonical.enums import Direction, ParseStatus, Protocol, RecordKind
from canonical.errors import JournalError
from canonical.kafka import partition_of
from ingest.admin import AdminApi, AdminServer
from ingest.admission import Refusal, charge_point_id, choose_protocol, offered_protocols
from ingest.auth import AuthPolicy, CredentialStore, Verdict
from ingest.commands import CommandDesk
from ingest.config import ServerConfig
from ingest.connection import ChargerConnection, Shared
from ingest.gate import AddressCap, HashLane
from ingest.handshake import (
    OVER_CAP,
    busy,
    capped_connection,
    certificate_verdict,
    remote,
    respond,
    server_ssl_context,
    unauthorized,
)
from ingest.journal.backend import Journal, open_journal
from ingest.metrics import IngestMetrics, Refused, is_scrape, read_token_file, scrape
from ingest.nodes import CrossNodeTakeover
from ingest.outage import JournalOutage
from ingest.proxy import ProxiedConnection
from ingest.tally import RefusalTally
from ingest.tokens import TokenPolicy, TokenStore
from ingest.upstream import (
    UpstreamCredentials,
    UpstreamDown,
    UpstreamRefused,
    UpstreamUnreachable,
    dial,
)

if TYPE_CHECKING:
    from ingest.journal.kafka_follow import TopicFollower

log = logging.getLogger("chargeline.ingest")
BUSY = "authentication busy, retry later"
STORAGE_DOWN = "central system cannot store frames now, retry later"
UPSTREAM_DOWN = "upstream central system unreachable, retry later"


@dataclass(frozen=True, slots=True)
class Admission:
    charge_point_id: str
    protocol: Protocol
    verdict: Verdict
    offered: tuple[str, ...]
    remote: str
    upstream: ClientConnection | None = None  # proxy mode: its upstream connection
    authorization: str | None = None
    local: bool = False  # proxy mode, upstream unreachable, answered here (--upstream-down)


class CentralSystem:
    """The running server: admission, the live connection per charge point, the journal."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.credentials = CredentialStore.in_dir(config.data_dir)
        self.upstream_credentials = UpstreamCredentials.in_dir(config.data_dir)
        self.policy = AuthPolicy(config.require_auth, config.accept_unknown)
        self.live: dict[str, ChargerConnection] = {}
        self._admissions: weakref.WeakKeyDictionary[ServerConnection, Admission] = (
            weakref.WeakKeyDictionary())
        self._server: Server | None = None
        self._shared: Shared | None = None
        self.lane = HashLane(config.auth_hash_workers, config.auth_hash_queue)
        self.cap = AddressCap(config.max_connections_per_address, config.uncapped_addresses)
        self.tally = RefusalTally(self._note_refusals)  # 503s journaled once a second
        self._journal_closed = False
        self.desk: CommandDesk | None = None
        self.follower: TopicFollower | None = None
        self.takeover: CrossNodeTakeover | None = None
        self.admin: AdminServer | None = None
        self.metrics = IngestMetrics(self.live, lambda: self._shared is None
                                     or not self._shared.outage.active)
        self._metrics_token: bytes | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        sock = next(iter(self._server.sockets))
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        c = self.config
        if c.metrics and c.metrics_token_file is not None:
            self._metrics_token = await asyncio.to_thread(read_token_file,
                                                          c.metrics_token_file)
        opened = await open_journal(c.data_dir, c.journal, c.node_id)
        journal, transactions, self.follower = opened.journal, opened.transactions, opened.follower
        journal.on_commit = self.metrics.committed
        if self.follower is not None:
            loop = asyncio.get_running_loop()
            self.takeover = CrossNodeTakeover(self.live, self._note_replaced, loop.create_task)
            self.follower.on_connected = self.takeover.seen
        tokens = TokenStore.in_dir(c.data_dir)
        await asyncio.to_thread(tokens.read)  # a tokens.json that is not valid stops the start
        self._shared = Shared(journal, transactions, c.heartbeat_interval_s, c.max_frame_bytes,
                              c.rate_per_s, c.burst, c.send_timeout_s, c.charger_bytes_per_s,
                              c.charger_burst_bytes, c.max_tracked_chargers,
                              TokenPolicy(tokens, c.unknown_tokens), metrics=self.metrics)
        self._server = await serve(
            self._serve, c.host, c.port, process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            subprotocols=[Subprotocol(p.value) for p in Protocol],
            max_size=c.hard_frame_bytes, ping_interval=c.ping_interval_s,
            ping_timeout=c.ping_timeout_s, open_timeout=c.open_timeout_s,
            close_timeout=c.close_timeout_s,
            compression="deflate" if c.compression else None, ssl=server_ssl_context(c),
            server_header="chargeline", backlog=c.backlog,
            create_connection=capped_connection(self.cap, self._refused_over_cap))
        log.info("listening on %s:%s", c.host, self.port)
        self.desk = CommandDesk(self.live, journal)
        if c.admin_port is not None:
            self.admin = AdminServer(AdminApi(c.data_dir, self.desk, self.live), c.admin_host,
                                     c.admin_port)
            await self.admin.start()
            log.info("admin API on %s", self.admin.url)

    async def stop(self) -> None:
        if self.admin is not None:
            await self.admin.stop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self.tally.flush()
        if self._shared is not None:
            await self._shared.outage.close()
            self._journal_closed = True
            await self._shared.journal.close()
        if self.follower is not None:
            self.follower.stop()
        self.lane.close()

    async def __aenter__(self) -> CentralSystem:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def journal(self) -> Journal:
        assert self._shared is not None
        return self._shared.journal

    async def _note(self, cp_id: str, kind: RecordKind, detail: dict[str, object],
                    connection_id: str = "", protocol: str = "") -> int:
        """Journal a connection event (not a frame); its frame id."""
        record = RawFrame(0, time.time_ns(), cp_id, connection_id, protocol, Direction.none.value,
                          kind.value, None, None, None, orjson.dumps(detail).decode(),
                          ParseStatus.not_applicable.value)
        return (await self.journal.write([record]))[0]

    @property
    def outage(self) -> JournalOutage:
        assert self._shared is not None
        return self._shared.outage

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        """Admit or refuse an upgrade request. While the journal cannot write, 503: a
        connection whose records cannot be kept is not taken. A plain ``GET /metrics`` is
        a Prometheus scrape (``ingest.metrics``), answered during an outage too."""
        if self.config.metrics and is_scrape(request):
            return scrape(ws, request, self.metrics, self._metrics_token)
        if self.outage.active:
            self.outage.refused_handshake()
            self.metrics.refused(Refused.journal_unavailable)
            return busy(ws, STORAGE_DOWN)
        try:
            return await self._admit(ws, request)
        except JournalError as exc:  # its refusal could not be recorded
            self.outage.failed(exc, "", "handshakes_refused")
            self.metrics.refused(Refused.journal_unavailable)
            return busy(ws, STORAGE_DOWN)

    async def _admit(self, ws: ServerConnection, request: Request) -> Response | None:
        address = remote(ws)
        cp_id = charge_point_id(request.path)
        offered = offered_protocols(request.headers.get_all("Sec-WebSocket-Protocol"))
        protocol = choose_protocol(offered, self.config.default_protocol)
        refusal = cp_id if isinstance(cp_id, Refusal) else (
            protocol if isinstance(protocol, Refusal) else None)
        name = cp_id if isinstance(cp_id, str) else ""
        if refusal is not None:
            self.metrics.refused(Refused.path if refusal is cp_id else Refused.subprotocol)
            await self._note(name, RecordKind.refused, {"status": refusal.status, "reason":
                             refusal.reason, "path": request.path[:200], "remote": address})
            return respond(ws, refusal.status, refusal.reason)
        assert isinstance(cp_id, str) and isinstance(protocol, Protocol)
        if self.config.tls_client_ca is not None:
            verdict: Verdict | None = certificate_verdict(ws, cp_id)
        else:
            verdict = await self._password_verdict(cp_id, request.headers.get("Authorization"))
        if verdict is None:
            self.metrics.refused(Refused.auth_busy)
            self.tally.count(BUSY, address.rsplit(":", 1)[0])
            return busy(ws, BUSY)
        if verdict is Verdict.refused:
            self.metrics.refused(Refused.credentials)
            await self._note(cp_id, RecordKind.auth_failed, {"remote": address, "tls": bool(
                self.config.tls_cert), "presented": "Authorization" in request.headers})
            return unauthorized(ws)
        admission = Admission(cp_id, protocol, verdict, tuple(offered), address)
        if self.config.upstream is not None:
            return await self._dial(ws, admission, request.headers.get("Authorization"))
        self._admissions[ws] = admission
        return None

    async def _dial(self, ws: ServerConnection, admission: Admission,
                    authorization: str | None) -> Response | None:
        """Proxy mode: the upstream connection first; its refusal is the charger's, its
        absence the ``--upstream-down`` policy's."""
        upstream = self.config.upstream
        assert upstream is not None
        cp_id = admission.charge_point_id
        authorization = self.upstream_credentials.authorization(cp_id, authorization)
        try:
            link, protocol = await dial(upstream, cp_id, list(admission.offered), authorization)
        except UpstreamRefused as exc:
            self.metrics.refused(Refused.upstream_refused)
            await self._note(cp_id, RecordKind.refused, {
                "status": exc.status, "reason": exc.reason, "upstream": upstream.shown,
                "remote": admission.remote})
            status = exc.status if exc.status in HTTPStatus._value2member_map_ else 502
            return respond(ws, status, exc.reason)
        except UpstreamUnreachable as exc:
            if upstream.down == UpstreamDown.refuse:
                self.metrics.refused(Refused.upstream_unreachable)
                await self._note(cp_id, RecordKind.refused, {
                    "status": 503, "reason": UPSTREAM_DOWN, "upstream": upstream.shown,
                    "error": str(exc), "remote": admission.remote})
                return busy(ws, UPSTREAM_DOWN)
            log.warning("%s: upstream unreachable, answering here: %s", cp_id, exc)
            self._admissions[ws] = dataclasses.replace(admission, local=True)
            return None
        self._admissions[ws] = dataclasses.replace(admission, protocol=protocol, upstream=link,
                                                   authorization=authorization)
        return None

    async def _password_verdict(self, cp_id: str, authorization: str | None) -> Verdict | None:
        """The Basic-auth verdict; None if it needs a hash and the hash lane is full."""
        verdict = self.policy.judge_at_once(self.credentials, cp_id, authorization)
        if verdict is not None:
            return verdict
        if self.lane.full:
            return None
        return await self.lane.run(self.policy.judge, self.credentials, cp_id, authorization)

    def _refused_over_cap(self, address: str) -> None:
        self.metrics.refused(Refused.address_cap)
        self.tally.count(OVER_CAP, address)

    async def _note_refusals(self, reason: str, address: str, refused: int) -> None:
        if self._journal_closed:
            return
        log.warning("refused %d connections from %s: %s", refused, address, reason)
        with contextlib.suppress(JournalError):
            await self._note("", RecordKind.refused, {
                "status": 503, "reason": reason, "remote": address, "refused": refused})

    def _select_subprotocol(self, ws: ServerConnection,
                            offered: Sequence[Subprotocol]) -> Subprotocol | None:
        admission = self._admissions.get(ws)
        if admission is None or not offered:
            return None
        return Subprotocol(admission.protocol.value)

    async def _serve(self, ws: ServerConnection) -> None:
        admission = self._admissions.pop(ws)
        assert self._shared is not None
        conn = self._connection(ws, admission)
        conn.remote = admission.remote
        try:
            await self._take_over(conn, admission)
            await conn.serve()
        except ConnectionClosed:
            pass
        except JournalError as exc:  # its connection record could not be kept
            self.outage.failed(exc, conn.charge_point_id, "records_lost")
            conn.cut_off = STORAGE_DOWN
            await ws.close(1011, STORAGE_DOWN)
        finally:
            await self._release(conn)

    def _connection(self, ws: ServerConnection, admission: Admission) -> ChargerConnection:
        assert self._shared is not None
        cp_id, upstream = admission.charge_point_id, self.config.upstream
        if admission.upstream is None or upstream is None:
            return ChargerConnection(self._shared, ws, cp_id, admission.protocol)

        async def redial() -> ClientConnection:
            assert upstream is not None
            link, _ = await dial(upstream, cp_id, [admission.protocol.value],
                                 admission.authorization)
            return link

        return ProxiedConnection(self._shared, ws, cp_id, admission.protocol,
                                 upstream=admission.upstream, config=upstream, redial=redial)

    async def _take_over(self, conn: ChargerConnection, admission: Admission) -> None:
        """Newest connection wins: the older socket of the same charge point is closed. If
        the journal cannot record the change, nothing changes (the caller drops the newer)."""
        cp_id = conn.charge_point_id
        old = self.live.get(cp_id)
        self.live[cp_id] = conn
        try:
            detail: dict[str, object] = {
                "remote": admission.remote, "offered": list(admission.offered),
                "verdict": admission.verdict.value}
            if self.config.upstream is not None:
                detail["upstream"] = self.config.upstream.shown
                detail["proxied"] = not admission.local
            if self.follower is not None:  # what other nodes journaled of it, read first
                await self.follower.wait_caught_up(
                    partition_of(cp_id, self.follower.partitions))
            conn.connected_frame_id = await self._note(
                cp_id, RecordKind.connected, detail, conn.connection_id, conn.protocol.value)
            if self.takeover is not None:
                self.takeover.admitted(conn)
            if old is not None:
                await self._note(cp_id, RecordKind.replaced, {
                    "old_connection_id": old.connection_id}, old.connection_id,
                    old.protocol.value)
        except JournalError:
            if self.live.get(cp_id) is conn:
                self.live.pop(cp_id)
                if old is not None and old.ws.close_code is None:
                    self.live[cp_id] = old
            raise
        if old is not None:
            asyncio.get_running_loop().create_task(
                old.ws.close(1000, "replaced by a newer connection"))

    async def _note_replaced(self, conn: ChargerConnection, newer_connection_id: str) -> None:
        await self._note(conn.charge_point_id, RecordKind.replaced, {
            "old_connection_id": conn.connection_id,
            "new_connection_id": newer_connection_id}, conn.connection_id, conn.protocol.value)

    async def _release(self, conn: ChargerConnection) -> None:
        if self.live.get(conn.charge_point_id) is conn:
            del self.live[conn.charge_point_id]
        conn.fail_pending(ConnectionClosed(None, None))
        ws = conn.ws
        code = ws.close_code
        self.metrics.disconnected(code)
        reason = conn.cut_off or ws.close_reason
        try:
            await self._note(conn.charge_point_id, RecordKind.disconnected, {
                "code": code, "reason": reason or ""}, conn.connection_id, conn.protocol.value)
        except JournalError as exc:
            self.outage.failed(exc, conn.charge_point_id, "records_lost")
        except Exception:
            log.debug("disconnection of %s not journaled", conn.charge_point_id, exc_info=True)
