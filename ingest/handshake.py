"""The HTTP side of a handshake, as pure helpers: the per-address cap at accept, the
certificate check of security profile 3, and the refusals' responses."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from http import HTTPStatus

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Response

from ingest.auth import Verdict
from ingest.config import ServerConfig
from ingest.gate import AddressCap

OVER_CAP = "too many connections from this address"
_OVER_CAP_RESPONSE = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                      f"Content-Length: {len(OVER_CAP) + 1}\r\nRetry-After: 30\r\n"
                      f"Connection: close\r\n\r\n{OVER_CAP}\n").encode()


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


def remote(ws: ServerConnection) -> str:
    address = ws.remote_address
    return f"{address[0]}:{address[1]}" if address else ""


def respond(ws: ServerConnection, status: int, reason: str) -> Response:
    return ws.respond(HTTPStatus(status), reason + "\n")


def busy(ws: ServerConnection, reason: str) -> Response:
    response = respond(ws, 503, reason)
    response.headers = Headers(response.headers)
    response.headers["Retry-After"] = "5"
    return response


def unauthorized(ws: ServerConnection) -> Response:
    response = ws.respond(HTTPStatus.UNAUTHORIZED, "authentication failed\n")
    response.headers = Headers(response.headers)
    response.headers["WWW-Authenticate"] = 'Basic realm="chargeline", charset="UTF-8"'
    return response


def server_ssl_context(config: ServerConfig) -> ssl.SSLContext | None:
    """TLS 1.2+ with the server's certificate; with a client CA, a certificate is required
    of every charger (security profile 3). None without a certificate (plain ws)."""
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(config.tls_cert, config.tls_key)
    if config.tls_client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=config.tls_client_ca)
    return context
