"""The driver API's HTTP application (FastAPI: the OpenAPI document at ``/openapi.json`` is
generated from these signatures and the ``canonical.live`` types, never written by hand).

Every route but the OpenAPI document needs ``Authorization: Bearer <token>`` of a client
(``chargeline api clients add``). Read-only: it reads the warehouse through ``LiveReader``,
the same functions the dashboard's session page calls (``warehouse.live``).

Streams (``…/events``) are server-sent events: the state at once, then each time it changes
(looked at every ``poll_s``), and a comment every ``keepalive_s`` so proxies keep the
connection; the event id is the state's ``as_of`` time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, ServerSentEvent

from canonical.live import ChargerAvailability, LiveSession
from chargeline import __version__
from chargeline.api import ocpi
from chargeline.api.clients import ClientStore
from chargeline.api.reader import LiveReader
from chargeline.ocpi.objects import Party

_bearer = HTTPBearer(auto_error=False, description="a client token from `chargeline api "
                     "clients add NAME`")
_ID = PathParam(min_length=1, max_length=255)


def client(request: Request,
           creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """The client a request's bearer token belongs to; 401 for none or a stranger's."""
    clients: ClientStore = request.app.state.clients
    name = None if creds is None else clients.client_of(creds.credentials)
    if name is None:
        raise HTTPException(401, "a valid client token is needed",
                            headers={"WWW-Authenticate": "Bearer"})
    return name


Client = Annotated[str, Depends(client)]


def create_app(data_dir: Path, party: Party | None = None, ttl_s: float = 1.0,
               poll_s: float = 1.0, keepalive_s: float = 15.0) -> FastAPI:
    reader = LiveReader(data_dir, ttl_s)
    app = FastAPI(title="chargeline driver API", version=__version__, docs_url=None,
                  redoc_url=None,
                  description="Live sessions and connector availability, as the operator "
                  "dashboard shows them. Read-only.")
    app.state.clients = ClientStore.in_dir(data_dir)
    app.include_router(ocpi.router(data_dir, party or Party("XX", "XXX")))

    async def found_session(session_id: str) -> LiveSession:
        s = await reader.session(session_id)
        if s is None:
            raise HTTPException(404, f"no session {session_id!r}")
        return s

    async def found_charger(cp: str) -> ChargerAvailability:
        a = await reader.availability(cp)
        if a is None:
            raise HTTPException(404, f"no charger {cp!r}")
        return a

    # a session id holds '/' (<charger>/<transaction>): the stream's route goes first, so
    # that '…/events' is not read as part of an id
    @app.get("/v1/sessions/{session_id:path}/events", response_class=EventSourceResponse,
             summary="The session as it changes (server-sent events `session`)")
    async def session_events(session_id: Annotated[str, _ID], _: Client, request: Request
                             ) -> AsyncIterator[ServerSentEvent]:
        await found_session(session_id)
        async for event in _changes(lambda: reader.session(session_id), "session", request,
                                    poll_s, keepalive_s):
            yield event

    @app.get("/v1/sessions/{session_id:path}", response_model=LiveSession,
             summary="A session now: status, power, energy and cost so far")
    async def get_session(session_id: Annotated[str, _ID], _: Client) -> LiveSession:
        return await found_session(session_id)

    @app.get("/v1/chargers/{charge_point_id}/availability",
             response_model=ChargerAvailability,
             summary="Each connector's availability now")
    async def get_availability(charge_point_id: Annotated[str, _ID], _: Client
                               ) -> ChargerAvailability:
        return await found_charger(charge_point_id)

    @app.get("/v1/chargers/{charge_point_id}/events", response_class=EventSourceResponse,
             summary="The charger's availability as it changes (events `availability`)")
    async def availability_events(charge_point_id: Annotated[str, _ID], _: Client,
                                  request: Request) -> AsyncIterator[ServerSentEvent]:
        await found_charger(charge_point_id)
        async for event in _changes(lambda: reader.availability(charge_point_id),
                                    "availability", request, poll_s, keepalive_s):
            yield event

    return app


async def _changes(read: Callable[[], Awaitable[Any]], name: str, request: Request,
                   poll_s: float, keepalive_s: float) -> AsyncIterator[ServerSentEvent]:
    """The state now, then whenever it differs (``as_of`` aside: it moves on every read)."""
    last: Any = None
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        state = await read()
        if state is not None and replace(state, as_of=None) != last:
            last = replace(state, as_of=None)
            quiet_since = time.monotonic()
            yield ServerSentEvent(data=asdict(state), event=name,
                                  id=state.as_of.isoformat())
        elif time.monotonic() - quiet_since >= keepalive_s:
            quiet_since = time.monotonic()
            yield ServerSentEvent(comment="keepalive")
        await asyncio.sleep(poll_s)
