"""Generic OCPP 1.6J: charger CALLs and the CSMS answers that complete them.

1.6 StartTransaction carries no transaction id: the CSMS assigns it in its CALLRESULT, which
the ingest journals right after the CALL. The start is therefore *held* (in the state, so it
survives a snapshot) until that answer, then emitted as ``transaction_started`` with the
answer's transactionId — numbered from the CALL's frame (``<call frame id>:0``). If the charger
sends its next CALL, the connection ends, or the CSMS answers with a CALLERROR (imported logs
without answers), the held start is emitted with ``transaction_key`` None.
"""

from __future__ import annotations

import dataclasses
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
from adapters.meter import emit_samples, read_meter_values
from adapters.values import add_issue, to_float, to_int, to_text, tx_id_of
from canonical.enums import EventType, TimestampIssue, ValueIssue
from canonical.events import CanonicalEvent

_FIELDS = tuple(f.name for f in dataclasses.fields(CanonicalEvent))


def boot_info(payload: dict[str, Any]) -> dict[str, str | None]:
    return {"vendor": to_text(payload.get("chargePointVendor")),
            "model": to_text(payload.get("chargePointModel")),
            "serial": to_text(payload.get("chargePointSerialNumber")
                              or payload.get("chargeBoxSerialNumber")),
            "firmware_version": to_text(payload.get("firmwareVersion"))}


def status_notification(ctx: FrameContext, payload: dict[str, Any]) -> None:
    status = to_text(payload.get("status"))
    if status is None:
        ctx.quarantine("missing_status", compact(payload))
        return
    connector = to_int(payload.get("connectorId"))
    slot = str(connector)
    fields: dict[str, Any] = {
        "connector_id": connector, "status": status,
        "error_code": to_text(payload.get("errorCode")),
        "detail": to_text(payload.get("info")) or to_text(payload.get("vendorErrorCode")),
        **ctx.times(payload.get("timestamp"))}
    status_and_implied_stop(ctx, fields, slot)


def authorize(ctx: FrameContext, payload: dict[str, Any]) -> None:
    tag, detail = ctx.adapter.id_tag(to_text(payload.get("idTag")), ctx.state)
    ctx.emit(EventType.authorization, id_tag=tag, detail=detail)


def start_transaction(ctx: FrameContext, payload: dict[str, Any]) -> None:
    """Held until the CSMS answers with the transactionId (see the module docstring)."""
    connector = to_int(payload.get("connectorId"))
    tag, detail = ctx.adapter.id_tag(to_text(payload.get("idTag")), ctx.state)
    meter = to_float(payload.get("meterStart"))
    fields: dict[str, Any] = {
        "connector_id": connector, "id_tag": tag, "meter_wh": meter, "energy_kind": "register",
        "raw_value": to_text(payload.get("meterStart")), "detail": detail,
        "value_issues": () if meter is not None else (ValueIssue.missing_meter,),
        **ctx.times(payload.get("timestamp"))}
    ctx.adapter.review_start(fields, ctx.state, str(connector))
    event = ctx.emit(EventType.transaction_started, **fields)
    if ctx.message_id is not None:
        ctx.events.pop()
        ctx.state.pending_start[ctx.message_id] = {f: getattr(event, f) for f in _FIELDS}


def start_answered(ctx: FrameContext, payload: Any, error: str | None = None) -> None:
    """The CSMS answer to a held StartTransaction: emit it with the assigned id, then the
    answer's ``authorization`` (its idTagInfo status: a refused start shows as refused)."""
    held = ctx.state.pending_start.pop(ctx.message_id or "", None)
    if held is None:
        return
    answer = payload if isinstance(payload, dict) else {}
    key, raw = tx_id_of(answer.get("transactionId"))
    info = answer.get("idTagInfo")
    status = to_text(info.get("status")) if isinstance(info, dict) else error
    event = _held(held).replace(transaction_key=key, transaction_id_raw=raw, status=status)
    ctx.events.append(event)
    ctx.emit(EventType.authorization, status=status, id_tag=event.id_tag, transaction_key=key,
             connector_id=event.connector_id, detail="csms_answer")
    slot = str(event.connector_id)
    open_transaction(ctx.state, slot, key, event.meter_wh)


def release_start(held: dict[str, Any]) -> CanonicalEvent:
    """A held start whose answer never came: emitted with ``transaction_key`` None."""
    return _held(held).replace(reason="no_csms_answer")


def _held(held: dict[str, Any]) -> CanonicalEvent:
    """A held start's event again (its fields went through the JSON state: lists back to
    the tuple of issues)."""
    issues = tuple(ValueIssue(i) for i in held.get("value_issues") or ())
    times = tuple(TimestampIssue(i) for i in held.get("timestamp_issues") or ())
    return CanonicalEvent(**{**held, "value_issues": issues, "timestamp_issues": times})


def stop_transaction(ctx: FrameContext, payload: dict[str, Any]) -> None:
    """Samples in ``transactionData`` first, then the stop (so sessions close last)."""
    state = ctx.state
    key, raw = tx_id_of(payload.get("transactionId"))
    key, key_issue = ctx.adapter.stop_transaction_key(key, raw, state)
    slot = state.slot_of(key) if key is not None else None
    tag, detail = ctx.adapter.id_tag(to_text(payload.get("idTag")), state)
    meter = to_float(payload.get("meterStop"))
    common = {"connector_id": slot_number(slot), "transaction_key": key,
              "transaction_id_raw": raw}
    samples = read_meter_values(ctx, payload.get("transactionData"), slot or "", True)
    emit_samples(ctx, samples, **common)
    fields: dict[str, Any] = {
        **common, "id_tag": tag, "meter_wh": meter, "energy_kind": "register", "detail": detail,
        "raw_value": to_text(payload.get("meterStop")), "reason": to_text(payload.get("reason")),
        "value_issues": () if meter is not None else (ValueIssue.missing_meter,),
        **ctx.times(payload.get("timestamp"))}
    if key_issue:
        fields["value_issues"] = add_issue(fields["value_issues"], key_issue)
    ctx.adapter.review_stop(fields, state)
    ctx.emit(EventType.transaction_stopped, **fields)
    close_transaction(state, key, slot, fields["meter_wh"])


def meter_values(ctx: FrameContext, payload: dict[str, Any]) -> None:
    connector = to_int(payload.get("connectorId"))
    slot = str(connector)
    sent_key, raw = tx_id_of(payload.get("transactionId"))
    key, issue = ctx.adapter.sample_transaction(sent_key, raw, slot, ctx.state)
    samples = read_meter_values(ctx, payload.get("meterValue"), slot, sent_key is not None)
    for sample in samples:
        if issue:
            sample.flag(issue)
    emit_samples(ctx, samples, connector_id=connector, transaction_key=key,
                 transaction_id_raw=raw)
    if not ctx.own_events():
        ctx.quarantine("no_samples", compact(payload))


def authorize_answered(ctx: FrameContext, payload: Any, error: str | None = None) -> None:
    info = payload.get("idTagInfo") if isinstance(payload, dict) else None
    status = to_text(info.get("status")) if isinstance(info, dict) else error
    ctx.emit(EventType.authorization, status=status, detail="csms_answer")


CALLS: dict[str, Handler] = {
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "StartTransaction": start_transaction,
    "StopTransaction": stop_transaction,
    "MeterValues": meter_values,
    "FirmwareStatusNotification": firmware_status,
    "DataTransfer": data_transfer,
    "SecurityEventNotification": security_event,
}

ANSWERS = {"StartTransaction": start_answered, "Authorize": authorize_answered}
