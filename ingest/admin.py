"""The admin HTTP API of ``chargeline serve`` (Starlette on uvicorn, in serve's event loop).

Bound to 127.0.0.1 unless told otherwise; every endpoint but ``/health`` and the upload slots
needs ``Authorization: Bearer <admin.token>`` (``ingest.admin_access``); a refusal is 401 and
journaled (an ``auth_failed`` record, at most one a second per address, with its count).

- ``GET /chargers``: the connected chargers.
- ``POST /chargers/{id}/commands`` ``{"action", "payload", "timeout_s", "requested_by",
  "origin", "session_id", "transaction_id"}``: send and wait; answers the ``CommandRecord``
  (200 whatever the charger said; 400 for a body that is not a command at all).
- ``GET /commands?charge_point_id=&limit=``: the latest commands, newest first.
- ``POST /uploads`` ``{"charge_point_id"}``: a one-time upload URL for GetDiagnostics/GetLog;
  ``PUT|POST /uploads/{key}/[name]`` (raw body or multipart): the charger's file, into
  ``<data_dir>/uploads/<id>/``, at most ``MAX_UPLOAD`` bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from canonical import RawFrame
from canonical.commands import CommandOrigin, CommandRecord
from canonical.enums import Direction, ParseStatus, RecordKind
from canonical.errors import JournalError
from ingest.admin_access import TokenCheck, publish_endpoint, withdraw_endpoint
from ingest.commands import MAX_TIMEOUT_S, CommandDesk, CommandRequest
from ingest.connection import ChargerConnection

MAX_BODY = 1024 * 1024
MAX_UPLOAD = 64 * 1024 * 1024
UPLOAD_TTL_S = 3600.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ORIGINS = {CommandOrigin.cli, CommandOrigin.dashboard, CommandOrigin.api, CommandOrigin.tokens}


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="chargeline"'} if status == 401 else None
    return Response(orjson.dumps({"error": message}), status, headers=headers,
                    media_type="application/json")


@dataclass
class AdminApi:
    """The API's state: the desk it sends through, the live connections it lists."""

    data_dir: Path
    desk: CommandDesk
    live: dict[str, ChargerConnection]
    tokens: TokenCheck = field(init=False)
    uploads: dict[str, tuple[str, float]] = field(default_factory=dict)  # key → (cp id, until)
    _refusals: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tokens = TokenCheck(self.data_dir)
        self.base_url = ""

    def app(self) -> Starlette:
        guarded = self._guarded
        return Starlette(routes=[
            Route("/health", self.health),
            Route("/chargers", guarded(self.chargers)),
            Route("/chargers/{cp_id}/commands", guarded(self.command), methods=["POST"]),
            Route("/commands", guarded(self.commands)),
            Route("/uploads", guarded(self.upload_slot), methods=["POST"]),
            Route("/uploads/{key}/{name}", self.upload, methods=["PUT", "POST"]),
            Route("/uploads/{key}/", self.upload, methods=["PUT", "POST"]),
            Route("/uploads/{key}", self.upload, methods=["PUT", "POST"]),
        ])

    def _guarded(self, handler: Callable[[Request], Awaitable[Response]]
                 ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not self.tokens.accepts(request.headers.get("authorization")):
                self._refused(request)
                return _error(401, "a valid bearer token is needed (see <data_dir>/admin.token)")
            return await handler(request)
        return endpoint

    def _refused(self, request: Request) -> None:
        address = request.client.host if request.client else ""
        count = self._refusals.get(address, 0)
        self._refusals[address] = count + 1
        if count == 0:
            asyncio.get_running_loop().call_later(1.0, lambda: asyncio.ensure_future(
                self._note_refusals(address, request.url.path[:200])))

    async def _note_refusals(self, address: str, path: str) -> None:
        refused = self._refusals.pop(address, 0)
        detail = {"endpoint": "admin", "remote": address, "path": path, "refused": refused}
        record = RawFrame(0, time.time_ns(), "", "", "", Direction.none, RecordKind.auth_failed,
                          None, None, None, orjson.dumps(detail).decode(),
                          ParseStatus.not_applicable)
        with contextlib.suppress(JournalError):
            await self.desk.journal.write([record])

    async def health(self, _: Request) -> Response:
        return _json({"status": "ok", "connected": len(self.live)})

    async def chargers(self, _: Request) -> Response:
        return _json([{"charge_point_id": cp_id, "protocol": conn.protocol.value,
                       "connection_id": conn.connection_id, "connected_at": conn.connected_at,
                       "remote": conn.remote}
                      for cp_id, conn in sorted(self.live.items())])

    async def command(self, request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, Response):
            return body
        try:
            command = _command_request(request.path_params["cp_id"], body)
        except ValueError as exc:
            return _error(400, str(exc))
        record = await self.desk.send(command)
        return _json(_record_json(record))

    async def commands(self, request: Request) -> Response:
        cp_id = request.query_params.get("charge_point_id")
        try:
            limit = max(1, min(500, int(request.query_params.get("limit", "50"))))
        except ValueError:
            return _error(400, "limit must be an integer")
        rows = [r for r in reversed(self.desk.recent)
                if cp_id is None or r.charge_point_id == cp_id]
        return _json([_record_json(r) for r in rows[:limit]])

    async def upload_slot(self, request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, Response):
            return body
        cp_id = body.get("charge_point_id")
        if not isinstance(cp_id, str) or not cp_id:
            return _error(400, "charge_point_id (a string) is needed")
        now = time.monotonic()
        for key in [k for k, (_, until) in self.uploads.items() if until < now]:
            del self.uploads[key]
        key = secrets.token_urlsafe(24)
        self.uploads[key] = (cp_id, now + UPLOAD_TTL_S)
        # a directory: chargers that append their file name do, the others PUT/POST to it
        return _json({"url": f"{self.base_url}/uploads/{key}/", "expires_in_s": UPLOAD_TTL_S})

    async def upload(self, request: Request) -> Response:
        key = request.path_params["key"]
        name = request.path_params.get("name") or "upload.bin"
        slot = self.uploads.pop(key, None)
        if slot is None or slot[1] < time.monotonic():
            return _error(404, "unknown or used upload slot")
        if not _NAME.fullmatch(name):
            return _error(400, "file name: letters, digits, '.', '_', '-', at most 128")
        folder = self.data_dir / "uploads" / _safe(slot[0])
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{name}"
        size = await _receive(request, target)
        if size is None:
            return _error(413, f"upload larger than {MAX_UPLOAD} bytes")
        return _json({"stored": str(target.relative_to(self.data_dir)), "bytes": size}, 201)


async def _receive(request: Request, target: Path) -> int | None:
    """The upload's bytes into ``target`` (the first file of a multipart form, else the raw
    body); None, and nothing kept, past ``MAX_UPLOAD``."""
    size = 0
    with target.open("wb") as out:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_files=1, max_part_size=MAX_UPLOAD) as form:
                part = next((v for v in form.values() if not isinstance(v, str)), None)
                data = await part.read() if part is not None else b""
                size = len(data)
                if size <= MAX_UPLOAD:
                    out.write(data)
        else:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD:
                    break
                out.write(chunk)
    if size > MAX_UPLOAD:
        await asyncio.to_thread(target.unlink)
        return None
    return size


def _safe(cp_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", cp_id)[:128] or "_"


async def _body(request: Request) -> dict[str, Any] | Response:
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            return _error(413, f"body larger than {MAX_BODY} bytes")
    try:
        body = orjson.loads(data or b"{}")
    except orjson.JSONDecodeError as exc:
        return _error(400, f"body is not JSON: {exc}")
    return body if isinstance(body, dict) else _error(400, "body must be a JSON object")


def _command_request(cp_id: str, body: dict[str, Any]) -> CommandRequest:
    action, payload = body.get("action"), body.get("payload", {})
    if not isinstance(action, str) or not action:
        raise ValueError("action (a string) is needed")
    timeout = body.get("timeout_s", 30.0)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) \
            or not 0 < timeout <= MAX_TIMEOUT_S:
        raise ValueError(f"timeout_s must be a number in (0, {MAX_TIMEOUT_S:g}]")
    try:
        origin = CommandOrigin(body.get("origin", CommandOrigin.api.value))
    except ValueError:
        origin = CommandOrigin.api
    if origin not in _ORIGINS:
        raise ValueError(f"origin must be one of {sorted(o.value for o in _ORIGINS)}")
    text = {k: body.get(k) for k in ("requested_by", "session_id", "transaction_id")}
    for name, value in text.items():
        if value is not None and (not isinstance(value, str) or len(value) > 128):
            raise ValueError(f"{name} must be a string of at most 128 characters")
    return CommandRequest(cp_id, action, payload, float(timeout), origin,
                          text["requested_by"] or "", text["session_id"], text["transaction_id"])


def _record_json(record: CommandRecord) -> dict[str, Any]:
    data = {name: getattr(record, name) for name in record.__slots__}
    for name in ("payload", "answer"):
        if data[name] is not None:
            data[name] = orjson.loads(data[name])
    return data


class _QuietServer(uvicorn.Server):
    """uvicorn inside serve's loop: the signals stay serve's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class AdminServer:
    """The API listening on ``host:port`` (0: any free port), published in admin.json."""

    api: AdminApi
    host: str
    port: int
    _server: _QuietServer | None = None
    _task: asyncio.Task[None] | None = None
    url: str = ""

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.setblocking(False)
        host = f"[{self.host}]" if family == socket.AF_INET6 else self.host
        self.url = self.api.base_url = f"http://{host}:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.api.app(), log_level="warning", lifespan="off",
                                access_log=False, timeout_graceful_shutdown=2)
        self._server = _QuietServer(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]))
        # uvicorn says it has started only through this flag
        while not self._server.started and not self._task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()
        publish_endpoint(self.api.data_dir, self.url)

    async def stop(self) -> None:
        withdraw_endpoint(self.api.data_dir)
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
