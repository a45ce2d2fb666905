"""Reconciliation rules finance reads (flows/README.md, "What finance reads"): stop
duplicates by size, physics, one start under two ids. Plain objects, no Bytewax."""

from __future__ import annotations

from typing import Any

import orjson

from canonical.raw import RawFrame
from flows.config import FlowConfig
from tests.adapters.test_normalizer import frame_factory
from tests.flows.test_sessions import kinds, run

CONFIG = FlowConfig(stuck_after_s=10**9, late_stop_s=10**9)


def _boot() -> RawFrame:
    return frame_factory(1, [2, "b", "BootNotification", {
        "chargePointVendor": "X", "chargePointModel": "Y"}])


def _start(frame_id: int, tx: int, message_id: str, at_s: float = 1.0) -> list[RawFrame]:
    call = frame_factory(frame_id, [2, message_id, "StartTransaction", {
        "connectorId": 1, "idTag": "T", "meterStart": 10_000,
        "timestamp": "2024-05-01T10:00:00Z"}], at_s=at_s)
    answer = frame_factory(frame_id + 1, [3, message_id, {
        "transactionId": tx, "idTagInfo": {"status": "Accepted"}}], direction="out", at_s=at_s)
    return [call, answer]


def _meter(frame_id: int, tx: int, minute: int, wh: float, w: float | None = None,
           phases: bool = False) -> RawFrame:
    sampled: list[dict[str, Any]] = [{"value": f"{wh:.0f}", "unit": "Wh",
                                      "measurand": "Energy.Active.Import.Register"}]
    if w is not None:
        sampled.append({"value": f"{w:.0f}", "unit": "W", "measurand": "Power.Active.Import"})
    if phases:
        sampled += [{"value": "16", "unit": "A", "measurand": "Current.Import", "phase": p}
                    for p in ("L1", "L2", "L3")]
    return frame_factory(frame_id, [2, f"m{frame_id}", "MeterValues", {
        "connectorId": 1, "transactionId": tx, "meterValue": [{
            "timestamp": f"2024-05-01T10:{minute:02d}:00Z", "sampledValue": sampled}]}],
        at_s=60 * minute + 1)


def _stop(frame_id: int, tx: int, wh: float, at: str, message_id: str | None = None,
          at_s: float = 0.0) -> RawFrame:
    return frame_factory(frame_id, [2, message_id or f"p{frame_id}", "StopTransaction", {
        "transactionId": tx, "meterStop": wh, "timestamp": at, "reason": "Local"}], at_s=at_s)


def test_second_stop_within_tolerance_is_alerted_not_held_past_it_held() -> None:
    base = [_boot(), *_start(2, 5, "s"), _meter(4, 5, 10, 12_000)]
    first = _stop(10, 5, 13_000, "2024-05-01T10:20:00Z", at_s=1201)
    near = _stop(11, 5, 13_030, "2024-05-01T10:20:05Z", at_s=1206)
    far = _stop(11, 5, 13_600, "2024-05-01T10:20:05Z", at_s=1206)
    for second, flag, held in ((near, "duplicate_stop", False), (far, "conflicting_stop", True)):
        for order in ([first, second], [second, first]):  # first in charger time bills
            sessions, alerts = run([*base, *order], CONFIG)
            session = sessions["CP-1:5"]
            assert session.energy_wh == 3000.0 and flag in session.flags
            dup = [a for a in alerts if a.kind == "duplicate_stop"]
            assert [(a.value, a.unit) for a in dup] == [(abs(second_wh(second) - 13_000), "Wh")]
            assert ("conflicting_stop" in session.flags) is held


def second_wh(frame: RawFrame) -> float:
    return float(orjson.loads(frame.raw)[3]["meterStop"])


def test_register_scaled_ten_times_against_its_power_is_a_unit_error() -> None:
    """Q9: 7.4 kW for an hour, but the register books 74 kWh."""
    frames = [_boot(), *_start(2, 5, "s")]
    frames += [_meter(10 + m, 5, m, 10_000 + 74_000 * m / 60, 7_400) for m in (0, 20, 40, 59)]
    frames.append(_stop(90, 5, 84_000, "2024-05-01T11:00:00Z", at_s=3601))
    sessions, alerts = run(frames, CONFIG)
    session = sessions["CP-1:5"]
    assert session.energy_wh == 74_000.0 and "meter_unit_error" in session.flags
    (unit,) = [a for a in alerts if a.kind == "meter_unit_error"]
    assert unit.unit == "Wh" and 65_000 < (unit.value or 0) < 67_000  # 74 kWh booked, ~7.4 real


def test_two_kwh_in_29_s_on_an_ac_charger_is_implausible() -> None:
    frames = [_boot(), *_start(2, 5, "s"), _meter(4, 5, 0, 10_000, phases=True),
              _stop(5, 5, 12_000, "2024-05-01T10:00:29Z", at_s=30)]
    sessions, alerts = run(frames, CONFIG)
    assert "meter_implausible" in sessions["CP-1:5"].flags
    assert "meter_implausible" in kinds(alerts)


def test_one_start_under_two_ids_bills_the_one_the_charger_used() -> None:
    """Q23 with an older central system: the retried start got a second id (6); the charger
    went on with 6; 5 saw nothing more. Either arrival order: 6 billed, 5 void, one alert."""
    one, two = _start(2, 5, "s1", 1.0), _start(4, 6, "s2", 2.0)
    rest = [_meter(10, 6, 10, 11_000), _stop(11, 6, 12_000, "2024-05-01T10:20:00Z", at_s=1201)]
    results = []
    for order in ([*one, *two, *rest], [*two, *rest, *one]):
        sessions, alerts = run([_boot(), *order], CONFIG)
        assert sessions["CP-1:5"].status == "void" and "phantom_of" in sessions["CP-1:5"].flags
        assert (sessions["CP-1:6"].status, sessions["CP-1:6"].energy_wh) == ("completed", 2000.0)
        results.append(sorted((a.alert_id, a.kind) for a in alerts))
    assert results[0] == results[1] and [k for _, k in results[0]] == ["phantom_transaction"]


def test_a_conflicting_stop_with_its_own_transaction_data_is_no_meter_mismatch() -> None:
    """The second stop's readings come before it in its frame (1.6 transactionData): they
    differ from the first stop's by the same amount the duplicate_stop alert reports."""
    second = frame_factory(11, [2, "p2", "StopTransaction", {
        "transactionId": 5, "meterStop": 13_600, "timestamp": "2024-05-01T10:20:05Z",
        "transactionData": [{"timestamp": "2024-05-01T10:20:05Z", "sampledValue": [{
            "value": "13600", "context": "Transaction.End"}]}]}], at_s=1206)
    frames = [_boot(), *_start(2, 5, "s"), _meter(4, 5, 10, 12_000),
              _stop(10, 5, 13_000, "2024-05-01T10:20:00Z", at_s=1201), second]
    sessions, alerts = run(frames, CONFIG)
    assert kinds(alerts) == ["duplicate_stop"]
    assert "conflicting_stop" in sessions["CP-1:5"].flags
