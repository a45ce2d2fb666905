"""Generic OCPP 2.0.1: charger CALLs and the CSMS answers worth an event.

TransactionEvent carries its own transactionId: ``Started`` → ``transaction_started``,
``Updated`` → ``transaction_updated``, ``Ended`` → ``transaction_stopped``, keeping seqNo,
offline, triggerReason (``trigger``), stoppedReason (``reason``) and chargingState
(``status``). Its meterValue also becomes ``meter_sample`` events, emitted after it.
``meter_wh`` on the transaction event is its trusted ``Transaction.Begin``/``End`` register
(None, with the sample's ``value_issues``, when that register is a placeholder).
"""

from __future__ import annotations

from typing import Any

from adapters.common import (
    Handler,
    close_transaction,
    compact,
    data_transfer,
    firmware_status,
    heartbeat,
    open_transaction,
    security_event,
    slot_number,
    status_and_implied_stop,
)
from adapters.context import FrameContext
from adapters.meter import emit_samples, read_meter_values, start_meter
from adapters.values import to_int, to_text, tx_id_of
from canonical.enums import EventType

_KINDS = {"Started": (EventType.transaction_started, "Transaction.Begin"),
          "Updated": (EventType.transaction_updated, ""),
          "Ended": (EventType.transaction_stopped, "Transaction.End")}


def as_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def boot_info(payload: dict[str, Any]) -> dict[str, str | None]:
    station = as_object(payload.get("chargingStation"))
    return {"vendor": to_text(station.get("vendorName")), "model": to_text(station.get("model")),
            "serial": to_text(station.get("serialNumber")),
            "firmware_version": to_text(station.get("firmwareVersion"))}


def token_of(ctx: FrameContext, value: Any) -> tuple[str | None, str | None]:
    raw = as_object(value).get("idToken") if isinstance(value, dict) else value
    return ctx.adapter.id_tag(to_text(raw), ctx.state)


def status_notification(ctx: FrameContext, payload: dict[str, Any]) -> None:
    status = to_text(payload.get("connectorStatus")) or to_text(payload.get("status"))
    if status is None:
        ctx.quarantine("missing_status", compact(payload))
        return
    evse = to_int(payload.get("evseId"))
    fields: dict[str, Any] = {"evse_id": evse, "connector_id": to_int(payload.get("connectorId")),
                              "status": status, **ctx.times(payload.get("timestamp"))}
    status_and_implied_stop(ctx, fields, str(evse))


def authorize(ctx: FrameContext, payload: dict[str, Any]) -> None:
    tag, detail = token_of(ctx, payload.get("idToken"))
    ctx.emit(EventType.authorization, id_tag=tag, detail=detail)


def transaction_event(ctx: FrameContext, payload: dict[str, Any]) -> None:
    kind = _KINDS.get(to_text(payload.get("eventType")) or "")
    if kind is None:
        ctx.quarantine("unknown_transaction_event_type", compact(payload.get("eventType")))
        return
    state = ctx.state
    info, evse = as_object(payload.get("transactionInfo")), as_object(payload.get("evse"))
    key, raw = tx_id_of(info.get("transactionId"))
    evse_id = to_int(evse.get("id"))
    slot = str(evse_id) if evse_id is not None else (state.slot_of(key or "") or "None")
    samples = read_meter_values(ctx, payload.get("meterValue"), slot, True)
    meter, issue = start_meter(samples, kind[1])
    tag, detail = token_of(ctx, payload.get("idToken"))
    offline = payload.get("offline")
    common = {"evse_id": slot_number(slot), "connector_id": to_int(evse.get("connectorId")),
              "transaction_key": key, "transaction_id_raw": raw,
              "seq_no": to_int(payload.get("seqNo")),
              "offline": offline if isinstance(offline, bool) else None}
    fields: dict[str, Any] = {
        **common, "id_tag": tag, "detail": detail, "meter_wh": meter, "value_issues": issue,
        "energy_kind": "register" if meter is not None else None,
        "trigger": to_text(payload.get("triggerReason")),
        "reason": to_text(info.get("stoppedReason")), "status": to_text(info.get("chargingState")),
        **ctx.times(payload.get("timestamp"))}
    _review_and_track(ctx, kind[0], fields, slot)
    emit_samples(ctx, samples, **common)
    if isinstance(payload.get("idToken"), dict) and ctx.message_id is not None:
        state.remember(state.token_events, ctx.message_id, [key, common["evse_id"], tag])


def _review_and_track(ctx: FrameContext, event_type: EventType, fields: dict[str, Any],
                      slot: str) -> None:
    state, key = ctx.state, fields["transaction_key"]
    if event_type is EventType.transaction_started:
        ctx.adapter.review_start(fields, state, slot)
    elif event_type is EventType.transaction_stopped:
        ctx.adapter.review_stop(fields, state)
    ctx.emit(event_type, **fields)
    if event_type is EventType.transaction_stopped:
        close_transaction(state, key, slot, fields["meter_wh"])
    elif event_type is EventType.transaction_started or (
            state.open_tx.get(slot) != key and key not in state.closed_tx):  # Q30: late Updated
        open_transaction(state, slot, key, fields["meter_wh"])


def meter_values(ctx: FrameContext, payload: dict[str, Any]) -> None:
    evse = to_int(payload.get("evseId"))
    slot = str(evse)
    key, issue = ctx.adapter.sample_transaction(None, None, slot, ctx.state)
    samples = read_meter_values(ctx, payload.get("meterValue"), slot, False)
    for sample in samples:
        if issue:
            sample.flag(issue)
    emit_samples(ctx, samples, evse_id=evse, transaction_key=key)
    if not ctx.own_events():
        ctx.quarantine("no_samples", compact(payload))


def authorize_answered(ctx: FrameContext, payload: Any, error: str | None = None) -> None:
    info = payload.get("idTokenInfo") if isinstance(payload, dict) else None
    status = to_text(info.get("status")) if isinstance(info, dict) else error
    ctx.emit(EventType.authorization, status=status, detail="csms_answer")


def transaction_answered(ctx: FrameContext, payload: Any, error: str | None = None) -> None:
    """The CSMS answer to a TransactionEvent that carried an idToken: its idTokenInfo status
    as an ``authorization`` of that transaction (a refused one ends it at the station)."""
    asked = ctx.state.token_events.pop(ctx.message_id or "", None)
    if asked is None:
        return
    info = payload.get("idTokenInfo") if isinstance(payload, dict) else None
    status = to_text(info.get("status")) if isinstance(info, dict) else error
    ctx.emit(EventType.authorization, status=status, transaction_key=asked[0],
             evse_id=asked[1], id_tag=asked[2], detail="csms_answer")


CALLS: dict[str, Handler] = {
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "TransactionEvent": transaction_event,
    "MeterValues": meter_values,
    "FirmwareStatusNotification": firmware_status,
    "DataTransfer": data_transfer,
    "SecurityEventNotification": security_event,
}

ANSWERS = {"Authorize": authorize_answered, "TransactionEvent": transaction_answered}
