"""Generic OCPP 2.1: 2.0.1's handlers (``adapters.ocpp201``) plus what 2.1 adds.

- TransactionEvent as 2.0.1: the new triggerReasons (``TariffChanged``, ``RunningCost``,
  ``OperationModeChanged``...) are carried as ``trigger``; ``costDetails`` and
  ``transactionInfo.tariffId`` are the station's own figures and stay in the journal (the
  bill is ours: the warehouse prices energy by its tariffs).
- V2X: import and export registers are separate measurands; only ``Energy.Active.Import.*``
  sets ``meter_wh`` (``adapters.meter``), so exported energy is never billed as import.
- ``NotifySettlement`` → ``settlement``: ``status`` the payment status, ``value`` the amount
  (``unit`` ``settlement``: the message names no currency), ``reason`` the PSP reference,
  ``transaction_key`` the transaction it paid for (None for a payment without one).
- ``BatterySwap`` → ``battery_swap``: ``status`` BatteryIn / BatteryOut / BatteryOutTimeout,
  ``id_tag``, ``transaction_key`` ``swap:<requestId>`` (the swap's own key: not a charging
  transaction, the session flows do not open one for it), ``value`` the mean state of charge
  of the batteries (%), ``detail`` their serial numbers.
- Periodic event streams: a NotifyMonitoringReport tells which variable a monitor watches
  (its measurand, its EVSE), an OpenPeriodicEventStream which monitor a stream reports; each
  NotifyPeriodicEventStream (a SEND, many values a frame) becomes one ``meter_sample`` per
  value at ``basetime + t``, tied to the transaction open on that EVSE. Values of a stream
  never opened, or of a monitor never reported, are quarantined (``unknown_stream``), the
  frame kept in the journal.
"""

from __future__ import annotations

from typing import Any

from adapters import ocpp201
from adapters.common import Handler, compact
from adapters.context import FrameContext
from adapters.meter import Sample, emit_samples, read_sampled_value
from adapters.values import to_float, to_int, to_text, tx_id_of
from canonical.enums import EventType

S = 1_000_000_000
#: Device-model variable names (2.x part 2, appendix) → the measurand their values are.
_MEASURANDS = {"Power": "Power.Active.Import", "ACCurrent": "Current.Import",
               "ACVoltage": "Voltage", "DCCurrent": "Current.Import", "DCVoltage": "Voltage",
               "SoC": "SoC", "Temperature": "Temperature"}

boot_info = ocpp201.boot_info
_obj = ocpp201.as_object


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a payload list (anything else in it, or a non-list, read as nothing)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def settlement(ctx: FrameContext, payload: dict[str, Any]) -> None:
    key, raw = tx_id_of(payload.get("transactionId"))
    amount = to_float(payload.get("settlementAmount"))
    ctx.emit(EventType.settlement, transaction_key=key, transaction_id_raw=raw,
             status=to_text(payload.get("status")), value=amount,
             unit="settlement" if amount is not None else None,
             reason=to_text(payload.get("pspRef")),
             detail=compact({k: payload.get(k) for k in ("receiptId", "receiptUrl",
                                                          "statusInfo", "vatNumber")
                             if payload.get(k) is not None}) or None,
             **ctx.times(payload.get("settlementTime")))


def battery_swap(ctx: FrameContext, payload: dict[str, Any]) -> None:
    batteries = _objects(payload.get("batteryData"))
    socs = [v for v in (to_float(b.get("soC")) for b in batteries) if v is not None]
    tag, detail = ocpp201.token_of(ctx, payload.get("idToken"))
    request = to_int(payload.get("requestId"))
    ctx.emit(EventType.battery_swap, status=to_text(payload.get("eventType")), id_tag=tag,
             transaction_key=None if request is None else f"swap:{request}",
             value=sum(socs) / len(socs) if socs else None, unit="Percent" if socs else None,
             evse_id=to_int(batteries[0].get("evseId")) if batteries else None,
             detail=detail or compact([b.get("serialNumber") for b in batteries]))


def monitoring_report(ctx: FrameContext, payload: dict[str, Any]) -> None:
    """Remember what each monitor watches (for the streams), then the 2.0.1 notice."""
    for entry in _objects(payload.get("monitor")):
        component, variable = _obj(entry.get("component")), _obj(entry.get("variable"))
        name = to_text(variable.get("name")) or ""
        measurand = _MEASURANDS.get(name, name)
        evse = to_int(_obj(component.get("evse")).get("id"))
        for monitor in _objects(entry.get("variableMonitoring")):
            monitor_id = to_int(monitor.get("id"))
            if monitor_id is not None and measurand:
                ctx.state.remember(ctx.state.monitors, str(monitor_id), [measurand, evse])
    ctx.emit(EventType.notice, reason="NotifyMonitoringReport",
             detail=compact(payload.get("requestId")))


def open_stream(ctx: FrameContext, payload: dict[str, Any]) -> None:
    data = _obj(payload.get("constantStreamData"))
    stream, monitor = to_int(data.get("id")), to_int(data.get("variableMonitoringId"))
    if stream is not None and monitor is not None:
        ctx.state.remember(ctx.state.streams, str(stream), str(monitor))
    ctx.emit(EventType.notice, reason="OpenPeriodicEventStream", detail=compact(data))


def close_stream(ctx: FrameContext, payload: dict[str, Any]) -> None:
    ctx.state.streams.pop(str(to_int(payload.get("id"))), None)
    ctx.emit(EventType.notice, reason="ClosePeriodicEventStream", detail=compact(payload))


def periodic_stream(ctx: FrameContext, payload: dict[str, Any]) -> None:
    """Every value of the frame as a ``meter_sample`` (a batch of many per frame)."""
    monitor = ctx.state.streams.get(str(to_int(payload.get("id"))))
    watched = ctx.state.monitors.get(monitor or "")
    data = payload.get("data")
    if watched is None or not isinstance(data, list):
        ctx.quarantine("unknown_stream", compact({"id": payload.get("id"), "monitor": monitor}))
        return
    measurand, evse = watched
    slot = str(evse) if evse is not None else next(iter(ctx.state.open_tx), "None")
    key, _ = ctx.adapter.sample_transaction(None, None, slot, ctx.state)
    base = ctx.times(payload.get("basetime"))
    samples = [s for s in (_stream_sample(ctx, measurand, item, base, slot) for item in data)
               if s is not None]
    emit_samples(ctx, samples, evse_id=to_int(slot), transaction_key=key)


def _stream_sample(ctx: FrameContext, measurand: str, item: Any, base: dict[str, Any],
                   slot: str) -> Sample | None:
    value = _obj(item)
    sample = read_sampled_value(ctx, {"measurand": measurand, "value": value.get("v")})
    offset = to_float(value.get("t"))
    if sample is None:
        return None
    at = base["charger_at"]
    sample.times = {**base, "charger_at": None if at is None or offset is None
                    else at + int(offset * S)}
    ctx.adapter.review_sample(sample, ctx.state, slot, False)
    return sample


CALLS: dict[str, Handler] = {
    **ocpp201.CALLS,
    "NotifySettlement": settlement,
    "BatterySwap": battery_swap,
    "NotifyMonitoringReport": monitoring_report,
    "OpenPeriodicEventStream": open_stream,
    "ClosePeriodicEventStream": close_stream,
    "NotifyPeriodicEventStream": periodic_stream,
}

ANSWERS = ocpp201.ANSWERS
