"""Handlers shared by 1.6J and 2.0.1: actions whose payloads barely differ, and the
bookkeeping of open transactions. A handler is ``(ctx, payload) -> None`` and emits events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from adapters.context import FrameContext
from adapters.state import ChargerState
from adapters.values import to_text
from canonical.enums import EventType, ValueIssue

Handler = Callable[[FrameContext, dict[str, Any]], None]


def compact(value: Any, limit: int = 500) -> str | None:
    """A short JSON text of a payload part, for ``detail``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value[:limit]
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()[:limit]
    except TypeError:
        return repr(value)[:limit]


def heartbeat(ctx: FrameContext, payload: dict[str, Any]) -> None:
    ctx.emit(EventType.heartbeat)


def firmware_status(ctx: FrameContext, payload: dict[str, Any]) -> None:
    ctx.emit(EventType.firmware_status, status=to_text(payload.get("status")),
             detail=compact(payload.get("requestId")))


def security_event(ctx: FrameContext, payload: dict[str, Any]) -> None:
    ctx.emit(EventType.security_event, status=to_text(payload.get("type")),
             detail=compact(payload.get("techInfo")), **ctx.times(payload.get("timestamp")))


def data_transfer(ctx: FrameContext, payload: dict[str, Any]) -> None:
    """``data`` may be a string or, breaking the schema, an object (Growatt Q26)."""
    ctx.emit(EventType.data_transfer, status=to_text(payload.get("vendorId")),
             reason=to_text(payload.get("messageId")), detail=compact(payload.get("data")))


def open_transaction(state: ChargerState, slot: str, key: str | None,
                     meter_wh: float | None) -> None:
    if key is None:
        return
    state.remember(state.open_tx, slot, key)
    if meter_wh is not None:
        state.remember(state.tx_start_wh, key, meter_wh)


def close_transaction(state: ChargerState, key: str | None, slot: str | None,
                      meter_wh: float | None) -> None:
    if key is not None:
        state.tx_start_wh.pop(key, None)
        state.remember(state.closed_tx, key, 1)
        if slot is not None and state.open_tx.get(slot) == key:
            del state.open_tx[slot]
    if slot is not None and meter_wh is not None:
        state.remember(state.last_stop_wh, slot, meter_wh)


def slot_number(slot: str | None) -> int | None:
    return int(slot) if slot is not None and slot.lstrip("-").isdigit() else None


def status_and_implied_stop(ctx: FrameContext, fields: dict[str, Any], slot: str) -> None:
    """The status event, then the stop the adapter infers from it, if any (Zaptec Q19)."""
    ctx.adapter.review_status(fields, ctx.state, slot)
    ctx.emit(EventType.status_changed, **fields)
    stop = ctx.adapter.implied_stop(fields["status"], fields.get("transaction_key"), ctx.state,
                                    slot)
    if stop is not None:
        ctx.emit(EventType.transaction_stopped, connector_id=fields.get("connector_id"),
                 evse_id=fields.get("evse_id"), transaction_key=stop.transaction_key,
                 meter_wh=stop.meter_wh,
                 energy_kind="register" if stop.meter_wh is not None else None,
                 reason=stop.reason, value_issues=(ValueIssue.synthesized_stop,),
                 charger_at=fields.get("charger_at"),
                 charger_at_raw=fields.get("charger_at_raw"),
                 timestamp_issues=fields.get("timestamp_issues", ()))
