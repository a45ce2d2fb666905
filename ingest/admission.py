"""The HTTP side of a connection: which path, which protocol, which credentials.

Pure functions over the upgrade request, so the server only moves bytes and calls them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from canonical.enums import Protocol

# Matched with ``fullmatch``: ``$`` alone also matches before a final newline (``CP-A\n``).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-*#@+]{0,47}")
_PREFERENCE = (Protocol.v21, Protocol.v201, Protocol.v16)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an upgrade request is refused: the HTTP status and a reason safe to show."""

    status: int
    reason: str


def charge_point_id(path: str) -> str | Refusal:
    """The charge point id of ``/ocpp/<id>`` or ``/<id>`` (URL-decoded once), or a refusal."""
    route = path.split("?", 1)[0]
    parts = [p for p in route.split("/") if p]
    if len(parts) == 2 and parts[0] == "ocpp":
        raw = parts[1]
    elif len(parts) == 1 and parts[0] != "ocpp":
        raw = parts[0]
    else:
        return Refusal(404, "use ws://host:port/ocpp/<charge_point_id>")
    cp_id = unquote(raw)
    if not _ID.fullmatch(cp_id) or ".." in cp_id:
        return Refusal(400, "charge point id must be 1-48 of [A-Za-z0-9._-*#@+]")
    return cp_id


def offered_protocols(headers: list[str]) -> list[str]:
    """Subprotocols a client offered, in its order, from all Sec-WebSocket-Protocol headers."""
    return [p.strip() for h in headers for p in h.split(",") if p.strip()]


def choose_protocol(offered: list[str], default: Protocol) -> Protocol | Refusal:
    """The newest OCPP version offered; ``default`` when nothing is offered (QUIRKS Q25)."""
    if not offered:
        return default
    for protocol in _PREFERENCE:
        if protocol.value in offered:
            return protocol
    return Refusal(400, f"unsupported subprotocol(s) {offered}; supported: "
                        f"{[p.value for p in _PREFERENCE]}")
