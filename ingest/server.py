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
from collections.abc import Callable, Sequence
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
from canonical.errors import JournalError
from ingest.admission import Refusal, charge_point_id, choose_protocol, offered_protocols
from ingest.auth import AuthPolicy, CredentialStore, Verdict
from ingest.config import ServerConfig
from ingest.connection import ChargerConnection, Shared
from ingest.gate import AddressCap, HashLane
from ingest.journal import GroupCommitJournal, JournalWriter
from ingest.outage import JournalOutage
from ingest.transactions import TransactionRegistry

log = logging.getLogger("chargeline.ingest")
BUSY = "authentication busy, retry later"
STORAGE_DOWN = "central system cannot store frames now, retry later"
OVER_CAP = "too many connections from this address"
_OVER_CAP_RESPONSE = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                      f"Content-Length: {len(OVER_CAP) + 1}\r\nRetry-After: 30\r\n"
                      f"Connection: close\r\n\r\n{OVER_CAP}\n").encode()


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
        self.lane = HashLane(config.auth_hash_workers, config.auth_hash_queue)
        self.cap = AddressCap(config.max_connections_per_address, config.uncapped_addresses)
        self._tallies: dict[tuple[str, str], int] = {}  # refusals not yet journaled
        self._journal_closed = False

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
                              c.rate_per_s, c.burst, c.send_timeout_s, c.charger_bytes_per_s,
                              c.charger_burst_bytes, c.max_tracked_chargers)
        self._server = await serve(
            self._serve, c.host, c.port, process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            subprotocols=[Subprotocol(p.value) for p in Protocol],
            max_size=c.hard_frame_bytes, ping_interval=c.ping_interval_s,
            ping_timeout=c.ping_timeout_s, open_timeout=c.open_timeout_s,
            close_timeout=c.close_timeout_s,
            compression="deflate" if c.compression else None, ssl=self._ssl_context(),
            server_header="chargeline", backlog=c.backlog,
            create_connection=capped_connection(self.cap, self._refused_over_cap))
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
        for key in list(self._tallies):
            await self._note_tally(key)
        if self._shared is not None:
            await self._shared.outage.close()
            self._journal_closed = True
            await self._shared.journal.close()
        self.lane.close()

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

    @property
    def outage(self) -> JournalOutage:
        assert self._shared is not None
        return self._shared.outage

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        """Admit or refuse an upgrade request. While the journal cannot write, 503: a
        connection whose records cannot be kept is not taken."""
        if self.outage.active:
            self.outage.refused_handshake()
            return _busy(ws, STORAGE_DOWN)
        try:
            return await self._admit(ws, request)
        except JournalError as exc:  # its refusal could not be recorded
            self.outage.failed(exc, "", "handshakes_refused")
            return _busy(ws, STORAGE_DOWN)

    async def _admit(self, ws: ServerConnection, request: Request) -> Response | None:
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
            verdict: Verdict | None = certificate_verdict(ws, cp_id)
        else:
            verdict = await self._password_verdict(cp_id, request.headers.get("Authorization"))
        if verdict is None:
            self._tally(BUSY, remote.rsplit(":", 1)[0])
            return _busy(ws, BUSY)
        if verdict is Verdict.refused:
            await self._note(cp_id, RecordKind.auth_failed, {"remote": remote, "tls": bool(
                self.config.tls_cert), "presented": "Authorization" in request.headers})
            return _unauthorized(ws)
        self._admissions[ws] = Admission(cp_id, protocol, verdict, tuple(offered), remote)
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
        self._tally(OVER_CAP, address)

    def _tally(self, reason: str, address: str) -> None:
        """Journal 503 refusals (over the cap, hash lane full) one record per reason and
        address a second at most, with their count: a flood of knocks at 700/s is not a flood
        of records, and it costs the loop one journal write a second, not 700."""
        key = (reason, address)
        count = self._tallies.get(key, 0)
        self._tallies[key] = count + 1
        if count == 0:
            asyncio.get_running_loop().call_later(1.0, lambda: asyncio.ensure_future(
                self._note_tally(key)))

    async def _note_tally(self, key: tuple[str, str]) -> None:
        refused = self._tallies.pop(key, 0)
        if not refused or self._journal_closed:
            return
        reason, address = key
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
        conn = ChargerConnection(self._shared, ws, admission.charge_point_id, admission.protocol)
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

    async def _take_over(self, conn: ChargerConnection, admission: Admission) -> None:
        """Newest connection wins: the older socket of the same charge point is closed. If
        the journal cannot record the change, nothing changes (the caller drops the newer)."""
        cp_id = conn.charge_point_id
        old = self.live.get(cp_id)
        self.live[cp_id] = conn
        try:
            await self._note(cp_id, RecordKind.connected, {
                "remote": admission.remote, "offered": list(admission.offered),
                "verdict": admission.verdict.value}, conn.connection_id, conn.protocol.value)
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

    async def _release(self, conn: ChargerConnection) -> None:
        if self.live.get(conn.charge_point_id) is conn:
            del self.live[conn.charge_point_id]
        ws = conn.ws
        code = ws.close_code
        reason = conn.cut_off or ws.close_reason
        try:
            await self._note(conn.charge_point_id, RecordKind.disconnected, {
                "code": code, "reason": reason or ""}, conn.connection_id, conn.protocol.value)
        except JournalError as exc:
            self.outage.failed(exc, conn.charge_point_id, "records_lost")
        except Exception:
            log.debug("disconnection of %s not journaled", conn.charge_point_id, exc_info=True)


def capped_connection(cap: AddressCap,
                      refused: Callable[[str], None]) -> type[ServerConnection]:
    """A ``ServerConnection`` counted by ``cap`` from accept to close; over the cap, it is
    answered 503 and closed at once, before reading a byte of its request."""
    class CappedConnection(ServerConnection):
        counted_as: str | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if peer else ""
            admitted = cap.admit(address)
            self.counted_as = address if admitted else None
            super().connection_made(transport)
            if not admitted:
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(_OVER_CAP_RESPONSE)
                transport.close()
                refused(address)

        def connection_lost(self, exc: Exception | None) -> None:
            if self.counted_as is not None:
                cap.release(self.counted_as)
                self.counted_as = None
            super().connection_lost(exc)

    return CappedConnection


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


def _busy(ws: ServerConnection, reason: str) -> Response:
    response = _respond(ws, 503, reason)
    response.headers = Headers(response.headers)
    response.headers["Retry-After"] = "5"
    return response


def _unauthorized(ws: ServerConnection) -> Response:
    response = ws.respond(HTTPStatus.UNAUTHORIZED, "authentication failed\n")
    response.headers = Headers(response.headers)
    response.headers["WWW-Authenticate"] = 'Basic realm="chargeline", charset="UTF-8"'
    return response
