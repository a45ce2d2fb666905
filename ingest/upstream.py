"""Proxy mode's other end: the central system an operator already runs (``serve --upstream``).

``dial`` opens one upstream connection per charger connection, to ``<upstream>/<id>``, with
the subprotocols the charger offered (those chargeline reads) and the charger's own
``Authorization`` header, or the upstream credential stored for that charger
(``UpstreamCredentials``); the upstream's choice of subprotocol is the charger's. Its
refusals come back as ``UpstreamRefused`` (its HTTP status, given to the charger unchanged),
an unreachable upstream as ``UpstreamUnreachable`` (the ``--upstream-down`` policy decides).
"""

from __future__ import annotations

import base64
import ssl
import urllib.parse
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import orjson
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from canonical.enums import Protocol
from canonical.errors import ConfigError
from ingest.files import OS, exclusive, make_dir, write_atomically


class UpstreamDown(StrEnum):
    """The upstream cannot be reached when a charger connects."""

    refuse = "refuse"  # 503 to the charger: it retries, the upstream sees everything
    answer = "answer"  # chargeline answers it itself (as without --upstream); reconcile later


class UpstreamLost(StrEnum):
    """The upstream connection drops while the charger is connected."""

    close = "close"  # close the charger's socket: it reconnects, and so do we
    hold = "hold"  # keep the charger, redial for ``retry_s``, forwarding what waited


@dataclass(frozen=True)
class UpstreamConfig:
    url: str
    ca: Path | None = None
    down: UpstreamDown = UpstreamDown.refuse
    lost: UpstreamLost = UpstreamLost.close
    retry_s: float = 30.0
    open_timeout_s: float = 10.0
    allow_commands: bool = False
    max_held_frames: int = 1000

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in ("ws", "wss") or not parsed.hostname:
            raise ConfigError(f"--upstream must be ws:// or wss://HOST[:PORT]/PATH, got "
                              f"{self.url!r}")
        if self.ca is not None and parsed.scheme != "wss":
            raise ConfigError("--upstream-ca needs a wss:// upstream")
        if self.retry_s <= 0 or self.open_timeout_s <= 0:
            raise ConfigError("upstream times must be > 0")

    def url_of(self, charge_point_id: str) -> str:
        return f"{self.url.rstrip('/')}/{urllib.parse.quote(charge_point_id, safe='')}"

    @property
    def shown(self) -> str:
        """The URL without credentials, for the journal and logs."""
        parsed = urllib.parse.urlsplit(self.url)
        netloc = parsed.hostname or ""
        if parsed.port:
            netloc += f":{parsed.port}"
        return urllib.parse.urlunsplit((parsed.scheme, netloc, parsed.path, "", ""))

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("wss:"):
            return None
        return ssl.create_default_context(cafile=str(self.ca) if self.ca else None)


class UpstreamRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"upstream answered {status}: {reason}")
        self.status, self.reason = status, reason


class UpstreamUnreachable(Exception):
    pass


async def dial(config: UpstreamConfig, charge_point_id: str, offered: list[str],
               authorization: str | None) -> tuple[ClientConnection, Protocol]:
    """The upstream connection for one charger connection, and the protocol it chose."""
    ours = [p for p in offered if p in {x.value for x in Protocol}]
    headers = {"Authorization": authorization} if authorization else {}
    try:
        ws = await websockets.connect(
            config.url_of(charge_point_id), subprotocols=[Subprotocol(p) for p in ours] or None,
            additional_headers=headers, open_timeout=config.open_timeout_s, ping_interval=None,
            max_size=None, compression=None, ssl=config.ssl_context(), user_agent_header=None)
    except InvalidStatus as exc:
        body = exc.response.body.decode("utf-8", "replace").strip()[:200] if exc.response.body \
            else ""
        raise UpstreamRefused(exc.response.status_code, body or "refused") from None
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        raise UpstreamUnreachable(f"{config.shown}: {type(exc).__name__}: {exc}") from None
    chosen = ws.subprotocol
    if chosen is None:
        if ours:  # we offered what the charger offered and the upstream took none: its call
            chosen = Subprotocol(ours[0])
        else:
            return ws, Protocol.v16
    return ws, Protocol(chosen)


@dataclass
class UpstreamCredentials:
    """Per-charger secrets the upstream expects (``chargeline chargers upstream-password``),
    in ``<data_dir>/upstream.json`` (0600): sent, so kept as they are, not hashed. Without one
    the charger's own ``Authorization`` header is passed through."""

    path: Path

    @classmethod
    def in_dir(cls, data_dir: Path) -> UpstreamCredentials:
        return cls(Path(data_dir) / "upstream.json")

    def _load(self) -> dict[str, str]:
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def authorization(self, charge_point_id: str, presented: str | None) -> str | None:
        password = self._load().get(charge_point_id)
        if password is None:
            return presented
        token = base64.b64encode(f"{charge_point_id}:{password}".encode()).decode()
        return f"Basic {token}"

    def set(self, charge_point_id: str, password: str | None) -> None:
        make_dir(OS, self.path.parent)
        with exclusive(OS, self.path):
            entries = self._load()
            if password is None:
                entries.pop(charge_point_id, None)
            else:
                entries[charge_point_id] = password
            write_atomically(OS, self.path, orjson.dumps(entries, option=orjson.OPT_INDENT_2),
                             mode=0o600)
