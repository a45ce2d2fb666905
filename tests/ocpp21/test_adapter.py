"""The canonical model absorbs OCPP 2.1: recorded-style frames → events → sessions, without
Bytewax (the flows' plain objects). What finance and operators would notice: the kWh billed
on a V2X session, the settlement, the swap that is no charging session, the stream samples."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.normalizer import ChargerNormalizer
from canonical.enums import Direction, EventType, ParseStatus, Protocol, RecordKind
from canonical.events import CanonicalEvent
from canonical.findings import SessionRecord
from canonical.raw import RawFrame, rfc3339_to_ns
from flows.charger import ChargerPipeline, Output
from flows.config import FlowConfig

S = 10**9
T0 = rfc3339_to_ns("2026-03-02T08:00:00Z")


def frame(frame_id: int, message: list[Any], at_s: float = 0.0,
          direction: Direction = Direction.inbound) -> RawFrame:
    """A journaled 2.1 frame: CALL (2), SEND (6) or, outbound, the CSMS answer (3)."""
    action = message[2] if message[0] in (2, 6) else None
    return RawFrame(frame_id, T0 + int(at_s * S), "CP-21", "c1", Protocol.v21, direction,
                    RecordKind.frame, message[0], message[1], action,
                    orjson.dumps(message).decode(), ParseStatus.ok)


def sampled(import_wh: float, export_wh: float, context: str) -> list[dict[str, Any]]:
    return [{"value": import_wh, "measurand": "Energy.Active.Import.Register",
             "context": context, "unitOfMeasure": {"unit": "Wh"}},
            {"value": export_wh, "measurand": "Energy.Active.Export.Register",
             "context": context, "unitOfMeasure": {"unit": "Wh"}}]


def tx_event(kind: str, seq: int, at_s: int, import_wh: float, export_wh: float,
             trigger: str, context: str) -> list[Any]:
    stamp = f"2026-03-02T08:{at_s // 60:02d}:{at_s % 60:02d}Z"
    info: dict[str, Any] = {"transactionId": "V2X-1", "chargingState": "Charging",
                            "tariffId": "BIDI-1"}
    if kind == "Ended":
        info["stoppedReason"] = "EVDisconnected"
    return [2, f"m{seq}", "TransactionEvent", {
        "eventType": kind, "timestamp": stamp, "seqNo": seq, "triggerReason": trigger,
        "transactionInfo": info, "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": stamp, "sampledValue": sampled(import_wh, export_wh,
                                                                    context)}]}]


BOOT = [2, "b", "BootNotification", {"reason": "PowerUp", "chargingStation": {
    "model": "Bidi-11", "vendorName": "V2X Co", "firmwareVersion": "2.1.0"}}]
# import 1000 → 6000 Wh (5 kWh drawn), export 500 → 9500 Wh (9 kWh fed back to the grid)
V2X = [BOOT,
       tx_event("Started", 0, 0, 1000, 500, "CablePluggedIn", "Transaction.Begin"),
       tx_event("Updated", 1, 600, 4000, 2500, "OperationModeChanged", "Sample.Periodic"),
       tx_event("Updated", 2, 1200, 5500, 7000, "TariffChanged", "Sample.Periodic"),
       tx_event("Ended", 3, 1800, 6000, 9500, "EVDeparted", "Transaction.End")]


def run(messages: list[list[Any]]) -> tuple[list[CanonicalEvent], dict[str, SessionRecord]]:
    frames = [frame(i + 1, m, at_s=i * 10.0) for i, m in enumerate(messages)]
    normalizer, pipeline, out = ChargerNormalizer("CP-21"), ChargerPipeline(
        "CP-21", FlowConfig()), Output()
    events = [e for f in frames for e in normalizer.normalize(f)]
    for f in frames:
        pipeline.apply(f, out)
    pipeline.advance(frames[-1].received_at + 3600 * S, out)
    latest: dict[str, SessionRecord] = {}
    for record in out.sessions:
        if record.session_id not in latest or record.version > latest[record.session_id].version:
            latest[record.session_id] = record
    return events, latest


def test_a_v2x_session_bills_import_only() -> None:
    events, sessions = run(V2X)
    session = sessions["CP-21:V2X-1"]
    assert (session.status, session.energy_wh) == ("completed", 5000.0)
    exported = [e for e in events if e.measurand == "Energy.Active.Export.Register"]
    assert [e.value for e in exported] == [500, 2500, 7000, 9500]
    assert all(e.meter_wh is None for e in exported)  # never read as an import register
    triggers = [e.trigger for e in events if e.event_type.startswith("transaction_")]
    assert triggers == ["CablePluggedIn", "OperationModeChanged", "TariffChanged", "EVDeparted"]


def test_settlement_and_battery_swap_are_their_own_events() -> None:
    settle = [2, "s", "NotifySettlement", {
        "pspRef": "PSP-9", "status": "Settled", "settlementAmount": 12.5,
        "settlementTime": "2026-03-02T08:31:00Z", "transactionId": "V2X-1",
        "receiptId": "R-1"}]
    swap = [2, "w", "BatterySwap", {"eventType": "BatteryIn", "requestId": 4, "idToken": {
        "idToken": "TAG-9", "type": "ISO14443"}, "batteryData": [
        {"evseId": 2, "serialNumber": "B-1", "soC": 20, "soH": 90},
        {"evseId": 2, "serialNumber": "B-2", "soC": 30, "soH": 95}]}]
    events, sessions = run([*V2X, settle, swap])
    paid = next(e for e in events if e.event_type == EventType.settlement)
    assert (paid.transaction_key, paid.status, paid.value, paid.reason) == (
        "V2X-1", "Settled", 12.5, "PSP-9")
    assert paid.charger_at == rfc3339_to_ns("2026-03-02T08:31:00Z")
    swapped = next(e for e in events if e.event_type == EventType.battery_swap)
    assert (swapped.status, swapped.id_tag, swapped.transaction_key, swapped.evse_id) == (
        "BatteryIn", "TAG-9", "swap:4", 2)
    assert (swapped.value, swapped.unit, swapped.detail) == (25.0, "Percent", '["B-1","B-2"]')
    assert list(sessions) == ["CP-21:V2X-1"]  # a swap opens no charging session
    assert sessions["CP-21:V2X-1"].energy_wh == 5000.0


def test_a_periodic_stream_is_a_batch_of_samples_of_the_open_transaction() -> None:
    report = [2, "r", "NotifyMonitoringReport", {
        "requestId": 0, "seqNo": 0, "generatedAt": "2026-03-02T08:00:00Z", "monitor": [{
            "component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"},
            "variableMonitoring": [{"id": 7, "transaction": True, "value": 1, "type":
                                    "PeriodicEventStream", "severity": 8}]}]}]
    opened = [2, "o", "OpenPeriodicEventStream", {"constantStreamData": {
        "id": 3, "variableMonitoringId": 7, "params": {"interval": 60, "values": 60}}}]
    stream = [6, "p", "NotifyPeriodicEventStream", {
        "id": 3, "pending": 0, "basetime": "2026-03-02T08:05:00Z",
        "data": [{"t": i, "v": str(7000 + i)} for i in range(60)]}]
    unknown = [6, "q", "NotifyPeriodicEventStream", {
        "id": 99, "pending": 0, "basetime": "2026-03-02T08:06:00Z", "data": [{"t": 0, "v": "1"}]}]
    events, _ = run([BOOT, report, opened, V2X[1], stream, unknown])
    power = [e for e in events if e.measurand == "Power.Active.Import"]
    assert len(power) == 60 and len({e.frame_id for e in power}) == 1  # one frame, 60 samples
    assert {(e.transaction_key, e.evse_id, e.unit) for e in power} == {("V2X-1", 1, "W")}
    assert power[1].charger_at - power[0].charger_at == S and power[59].value == 7059
    assert [e.quarantine_reason for e in events if e.event_type == EventType.quarantine] == [
        "unknown_stream"]


@settings(max_examples=80, deadline=None)
@given(action=st.sampled_from(["NotifySettlement", "BatterySwap", "NotifyMonitoringReport",
                               "OpenPeriodicEventStream", "ClosePeriodicEventStream",
                               "NotifyPeriodicEventStream"]),
       payload=st.dictionaries(st.sampled_from(
           ["id", "data", "basetime", "monitor", "batteryData", "constantStreamData",
            "settlementAmount", "transactionId", "idToken", "requestId"]),
           st.none() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=20)
           | st.lists(st.integers(-9, 9) | st.dictionaries(st.sampled_from(["t", "v", "id", "soC"]),
                                                       st.integers(-9, 9) | st.text(max_size=5)),
                      max_size=4)))
def test_broken_21_payloads_become_events_never_errors(action: str,
                                                       payload: dict[str, Any]) -> None:
    message = [6 if action == "NotifyPeriodicEventStream" else 2, "x", action, payload]
    events = ChargerNormalizer("CP-21").normalize(frame(1, message))
    assert events and all(e.quarantine_reason != "adapter_error" for e in events), events
