"""What every CSMS answer handler gets, and helpers the 1.6 and 2.0.1 tables share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from canonical.raw import ns_to_rfc3339
from ingest.tokens import ACCEPT_ALL, TokenPolicy
from ingest.transactions import TransactionRegistry


@dataclass(frozen=True, slots=True)
class CallContext:
    """The facts a handler may use. ``now_ns`` is the server clock (UTC) at receive time;
    ``tokens`` answers for id tokens (the authorization list and its policy)."""

    charge_point_id: str
    now_ns: int
    transactions: TransactionRegistry
    heartbeat_interval_s: int
    tokens: TokenPolicy = ACCEPT_ALL


Handler = Callable[[CallContext, dict[str, Any]], dict[str, Any]]


def server_time(ctx: CallContext) -> str:
    """Server UTC time in the form chargers sync their clocks to (millisecond precision)."""
    text = ns_to_rfc3339(ctx.now_ns)
    return text[:23] + "Z"


def empty(_: CallContext, __: dict[str, Any]) -> dict[str, Any]:
    return {}


def constant(answer: dict[str, Any]) -> Handler:
    """A handler that always gives ``answer`` (a fresh copy each time)."""
    def handler(_: CallContext, __: dict[str, Any]) -> dict[str, Any]:
        return dict(answer)

    return handler
