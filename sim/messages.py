"""Payload builders: pure functions from what the charger measured to the JSON it sends, in
OCPP 1.6J or 2.0.1. No clock and no I/O here, so each client profile's wire shape is
unit-tested from these alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

V16 = "ocpp1.6"
REGISTER = "Energy.Active.Import.Register"
EXPORT_REGISTER = "Energy.Active.Export.Register"
BEGIN, PERIODIC, END = "Transaction.Begin", "Sample.Periodic", "Transaction.End"
DC_VOLTS = 400.0


@dataclass(frozen=True, slots=True)
class Reading:
    """One meter reading as the charger reports it: its own clock, its register as text in the
    unit it labels it with, and (while sampling) the power it measures, in W."""

    stamp: str
    register: str
    unit: str
    context: str
    power_w: float | None = None
    l1_only: bool = False   # Q28: a DC charger's totals tagged phase L1
    export: str | None = None  # V2X (2.1): its Energy.Active.Export.Register, Wh


def sampled_values(r: Reading, protocol: str) -> list[dict[str, Any]]:
    """The register (and power; on an L1-only DC charger also voltage and current)."""
    rows = [(REGISTER, r.register, r.unit)]
    if r.export is not None:
        rows.append((EXPORT_REGISTER, r.export, "Wh"))
    if r.power_w is not None:
        rows.append(("Power.Active.Import", f"{r.power_w:.0f}", "W"))
        if r.l1_only:
            rows += [("Voltage", f"{DC_VOLTS:.0f}", "V"),
                     ("Current.Import", f"{r.power_w / DC_VOLTS:.1f}", "A")]
    return [_sampled(measurand, value, unit, r.context, "L1" if r.l1_only else None, protocol)
            for measurand, value, unit in rows]


def _sampled(measurand: str, value: str, unit: str, context: str, phase: str | None,
             protocol: str) -> dict[str, Any]:
    out: dict[str, Any] = {"measurand": measurand, "context": context}
    if protocol == V16:
        out |= {"value": value, "unit": unit}
    else:
        number = float(value)
        out |= {"value": int(number) if number.is_integer() else number,
                "unitOfMeasure": {"unit": unit}}
    if phase:
        out["phase"] = phase
    return out


def meter_value(r: Reading, protocol: str) -> dict[str, Any]:
    return {"timestamp": r.stamp, "sampledValue": sampled_values(r, protocol)}


# -- 1.6 ----------------------------------------------------------------------------------
def start_transaction(id_tag: str, meter_start: int, stamp: str) -> dict[str, Any]:
    return {"connectorId": 1, "idTag": id_tag, "meterStart": meter_start, "timestamp": stamp}


def meter_values(tx_id: int, r: Reading) -> dict[str, Any]:
    return {"connectorId": 1, "transactionId": tx_id, "meterValue": [meter_value(r, V16)]}


def triggered_meter_values(tx_id: int | None, r: Reading) -> dict[str, Any]:
    """MeterValues sent for a TriggerMessage: the transactionId only while one runs."""
    out: dict[str, Any] = {"connectorId": 1, "meterValue": [meter_value(r, V16)]}
    return out if tx_id is None else out | {"transactionId": tx_id}


def stop_transaction(tx_id: int, meter_stop: int, stamp: str, id_tag: str,
                     transaction_data: list[Reading] | None = None,
                     reason: str = "EVDisconnected") -> dict[str, Any]:
    """With ``transaction_data`` (Q32): the session's readings, Begin, Periodic and End."""
    out: dict[str, Any] = {"transactionId": tx_id, "meterStop": meter_stop, "timestamp": stamp,
                           "reason": reason, "idTag": id_tag}
    if transaction_data:
        out["transactionData"] = [meter_value(r, V16) for r in transaction_data]
    return out


# -- 2.0.1 --------------------------------------------------------------------------------
_TRIGGER = {"Started": "Authorized", "Updated": "MeterValuePeriodic",
            "Ended": "EVCommunicationLost"}


def transaction_event(kind: str, tx_id: str, seq_no: int, stamp: str, readings: list[Reading],
                      charging_state: str = "Charging", offline: bool = False,
                      extra: dict[str, Any] | None = None, trigger: str | None = None,
                      stopped_reason: str = "EVDisconnected",
                      remote_start_id: int | None = None) -> dict[str, Any]:
    """A TransactionEvent; ``readings`` become its ``meterValue`` elements, in order (an
    ``Ended`` of ``repeat_begin_in_ended`` passes the Begin reading first, Q29).
    ``trigger``: its triggerReason when not the usual one of its kind (RemoteStart, ...)."""
    info: dict[str, Any] = {"transactionId": tx_id, "chargingState": charging_state}
    if kind == "Ended":
        info["stoppedReason"] = stopped_reason
    if remote_start_id is not None:
        info["remoteStartId"] = remote_start_id
    out: dict[str, Any] = {"eventType": kind, "timestamp": stamp, "seqNo": seq_no,
                           "triggerReason": trigger or _TRIGGER[kind], "transactionInfo": info,
                           "evse": {"id": 1, "connectorId": 1},
                           "meterValue": [meter_value(r, "ocpp2.0.1") for r in readings]}
    if offline:
        out["offline"] = True
    return out | (extra or {})
