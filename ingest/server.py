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
import logging
import ssl
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from canonical import RawFrame
from canonical.enums import Direction, ParseStatus, Protocol, RecordKind
from ingest.admission import Refusal, charge_point_id, choose_protocol, offered_protocols
from ingest.auth import AuthPolicy, CredentialStore, Verdict
from ingest.config import ServerConfig
from ingest.connection import ChargerConnection, Shared
from ingest.journal import GroupCommitJournal, JournalWriter
from ingest.transactions import TransactionRegistry

log = logging.getLogger("chargeline.ingest")


@dataclass(frozen=True, slots=True)
class Admission:
    charge_point_id: str
    protocol: Protocol
    verdict: Verdict
    offered: tuple[str, ...]
    remote: str


class CentralSystem:
    """The running server: admission, the live connection per charge point, the journal."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.credentials = CredentialStore.in_dir(config.data_dir)
        self.policy = AuthPolicy(config.require_auth, config.accept_unknown)
        self.live: dict[str, ChargerConnection] = {}
        self._admissions: weakref.WeakKeyDictionary[ServerConnection, Admission] = (
            weakref.WeakKeyDictionary())
        self._server: Server | None = None
        self._shared: Shared | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        sock = next(iter(self._server.sockets))
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        writer = await asyncio.to_thread(JournalWriter, self.config.data_dir)
        transactions = await asyncio.to_thread(TransactionRegistry.from_journal,
                                               self.config.data_dir)
        journal = GroupCommitJournal(writer)
        c = self.config
        self._shared = Shared(journal, transactions, c.heartbeat_interval_s, c.max_frame_bytes,
                              c.rate_per_s, c.burst, c.send_timeout_s)
        self._server = await serve(
            self._serve, c.host, c.port, process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            subprotocols=[Subprotocol(p.value) for p in Protocol],
            max_size=c.hard_frame_bytes, ping_interval=c.ping_interval_s,
            ping_timeout=c.ping_timeout_s, open_timeout=c.open_timeout_s,
            close_timeout=c.close_timeout_s,
            compression="deflate" if c.compression else None, ssl=self._ssl_context(),
            server_header="chargeline", backlog=c.backlog)
        log.info("listening on %s:%s", c.host, self.port)

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None or self.config.tls_key is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        if self.config.tls_client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=self.config.tls_client_ca)
        return context

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._shared is not None:
            await self._shared.journal.close()

    async def __aenter__(self) -> CentralSystem:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def journal(self) -> GroupCommitJournal:
        assert self._shared is not None
        return self._shared.journal

    async def _note(self, cp_id: str, kind: RecordKind, detail: dict[str, object],
                    connection_id: str = "", protocol: str = "") -> None:
        """Journal a connection event (not a frame)."""
        record = RawFrame(0, time.time_ns(), cp_id, connection_id, protocol, Direction.none.value,
                          kind.value, None, None, None, orjson.dumps(detail).decode(),
                          ParseStatus.not_applicable.value)
        await self.journal.write([record])

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        remote = _remote(ws)
        cp_id = charge_point_id(request.path)
        offered = offered_protocols(request.headers.get_all("Sec-WebSocket-Protocol"))
        protocol = choose_protocol(offered, self.config.default_protocol)
        refusal = cp_id if isinstance(cp_id, Refusal) else (
            protocol if isinstance(protocol, Refusal) else None)
        name = cp_id if isinstance(cp_id, str) else ""
        if refusal is not None:
            await self._note(name, RecordKind.refused, {"status": refusal.status, "reason":
                             refusal.reason, "path": request.path[:200], "remote": remote})
            return _respond(ws, refusal.status, refusal.reason)
        assert isinstance(cp_id, str) and isinstance(protocol, Protocol)
        if self.config.tls_client_ca is not None:
            verdict = certificate_verdict(ws, cp_id)
        else:
            verdict = await asyncio.to_thread(self.policy.judge, self.credentials, cp_id,
                                              request.headers.get("Authorization"))
        if verdict is Verdict.refused:
            await self._note(cp_id, RecordKind.auth_failed, {"remote": remote, "tls": bool(
                self.config.tls_cert), "presented": "Authorization" in request.headers})
            return _unauthorized(ws)
        self._admissions[ws] = Admission(cp_id, protocol, verdict, tuple(offered), remote)
        return None

    def _select_subprotocol(self, ws: ServerConnection,
                            offered: Sequence[Subprotocol]) -> Subprotocol | None:
        admission = self._admissions.get(ws)
        if admission is None or not offered:
            return None
        return Subprotocol(admission.protocol.value)

    async def _serve(self, ws: ServerConnection) -> None:
        admission = self._admissions.pop(ws)
        assert self._shared is not None
        conn = ChargerConnection(self._shared, ws, admission.charge_point_id, admission.protocol)
        await self._take_over(conn, admission)
        try:
            await conn.serve()
        except ConnectionClosed:
            pass
        finally:
            await self._release(conn)

    async def _take_over(self, conn: ChargerConnection, admission: Admission) -> None:
        """Newest connection wins: the older socket of the same charge point is closed."""
        old = self.live.get(conn.charge_point_id)
        self.live[conn.charge_point_id] = conn
        await self._note(conn.charge_point_id, RecordKind.connected, {
            "remote": admission.remote, "offered": list(admission.offered),
            "verdict": admission.verdict.value}, conn.connection_id, conn.protocol.value)
        if old is not None:
            await self._note(conn.charge_point_id, RecordKind.replaced, {
                "old_connection_id": old.connection_id}, old.connection_id, old.protocol.value)
            asyncio.get_running_loop().create_task(
                old.ws.close(1000, "replaced by a newer connection"))

    async def _release(self, conn: ChargerConnection) -> None:
        if self.live.get(conn.charge_point_id) is conn:
            del self.live[conn.charge_point_id]
        ws = conn.ws
        code = ws.close_code
        reason = conn.cut_off or ws.close_reason
        with contextlib.suppress(Exception):
            await self._note(conn.charge_point_id, RecordKind.disconnected, {
                "code": code, "reason": reason or ""}, conn.connection_id, conn.protocol.value)


def certificate_verdict(ws: ServerConnection, cp_id: str) -> Verdict:
    """Security profile 3: the TLS layer verified the chain; the commonName must be the id."""
    cert = ws.transport.get_extra_info("peercert") or {}
    names = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    return Verdict.accepted if names == [cp_id] else Verdict.refused


def _remote(ws: ServerConnection) -> str:
    address = ws.remote_address
    return f"{address[0]}:{address[1]}" if address else ""


def _respond(ws: ServerConnection, status: int, reason: str) -> Response:
    return ws.respond(HTTPStatus(status), reason + "\n")


def _unauthorized(ws: ServerConnection) -> Response:
    response = ws.respond(HTTPStatus.UNAUTHORIZED, "authentication failed\n")
    response.headers = Headers(response.headers)
    response.headers["WWW-Authenticate"] = 'Basic realm="chargeline", charset="UTF-8"'
    return response
