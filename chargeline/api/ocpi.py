"""OCPI 2.2.1's CPO sender interfaces on the driver API: ``GET /ocpi/2.2.1/cdrs``,
``/sessions``, ``/locations``, ``/tariffs`` — the objects ``chargeline export ocpi-*`` writes
(``chargeline.ocpi.export``: only schema-valid ones), in OCPI's response envelope (§4.1.7:
``data``, ``status_code`` 1000, ``status_message``, ``timestamp``) with its pagination
(§4.1.3: ``offset``/``limit`` in, ``X-Total-Count``, ``X-Limit`` and a ``Link`` to the next
page out). A partner authenticates as any API client, with OCPI's ``Authorization: Token
<token>`` (plain or base64, as 2.2.1 §4.1.4 asks) or ``Bearer``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from chargeline.api.clients import ClientStore
from chargeline.ocpi import export
from chargeline.ocpi.objects import Party, wire_time

MAX_LIMIT = 1000
#: CDRs are listed from this many days back when the partner gives no ``date_from``.
DEFAULT_DAYS = 31
Offset = Annotated[int, Query(ge=0)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def partner(request: Request) -> str:
    """The client of an ``Authorization: Token …`` (OCPI) or ``Bearer …`` header."""
    scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
    clients: ClientStore = request.app.state.clients
    candidates = [credentials]
    if scheme.lower() == "token":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            candidates.append(base64.b64decode(credentials, validate=True).decode())
    if scheme.lower() in ("token", "bearer"):
        for token in candidates:
            name = clients.client_of(token)
            if name is not None:
                return name
    raise HTTPException(401, "a valid client token is needed",
                        headers={"WWW-Authenticate": "Token"})


Page = Callable[[Request, Response, list[dict[str, Any]], int, int],
               Awaitable[dict[str, Any]]]


def _listing(build: Callable[[], export.Export], page: Page
             ) -> Callable[..., Awaitable[dict[str, Any]]]:
    """A route listing what ``build`` makes, a page at a time."""
    async def listing(request: Request, response: Response, *, offset: Offset = 0,
                      limit: Limit = MAX_LIMIT) -> dict[str, Any]:
        partner(request)
        found = await asyncio.to_thread(build)
        return await page(request, response, found.valid, offset, limit)
    return listing


def router(data_dir: Path, party: Party) -> APIRouter:
    api = APIRouter(prefix="/ocpi/2.2.1", tags=["OCPI 2.2.1"])

    async def page(request: Request, response: Response, objects: list[dict[str, Any]],
                   offset: int, limit: int) -> dict[str, Any]:
        chunk = objects[offset:offset + limit]
        response.headers["X-Total-Count"] = str(len(objects))
        response.headers["X-Limit"] = str(MAX_LIMIT)
        if offset + limit < len(objects):
            nxt = request.url.include_query_params(offset=offset + limit, limit=limit)
            response.headers["Link"] = f'<{nxt}>; rel="next"'
        return {"data": chunk, "status_code": 1000, "status_message": "Success",
                "timestamp": wire_time(datetime.now(UTC))}

    @api.get("/cdrs", summary="CDRs of billable, priced sessions stopped in the period")
    async def cdrs(request: Request, response: Response, *,
                   date_from: datetime | None = None, date_to: datetime | None = None,
                   offset: Offset = 0, limit: Limit = MAX_LIMIT) -> dict[str, Any]:
        partner(request)
        last = (date_to or datetime.now(UTC)).date()
        first = date_from.date() if date_from else last - timedelta(days=DEFAULT_DAYS)
        found = await asyncio.to_thread(export.cdrs, data_dir, first, last, party)
        return await page(request, response, found.valid, offset, limit)

    listings: dict[str, tuple[str, Callable[[], export.Export]]] = {
        "sessions": ("Sessions running now, with their cost so far",
                     lambda: export.sessions(data_dir, party)),
        "locations": ("Sites with their EVSEs' status now",
                      lambda: export.locations(data_dir, party, datetime.now(UTC))),
        "tariffs": ("A Tariff per tariff version", lambda: export.tariffs(data_dir, party))}
    for name, (summary, build) in listings.items():
        api.add_api_route(f"/{name}", _listing(build, page), methods=["GET"],
                          summary=summary, name=name)

    return api
