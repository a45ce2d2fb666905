"""One charging session on the wire (1.6J or 2.0.1), with its fault if it carries one."""

from __future__ import annotations

import time
from typing import Any

from sim.charger import SimCharger
from sim.plan import SessionPlan

SAMPLES = 6
V16 = "ocpp1.6"


async def run_session(c: SimCharger, s: SessionPlan, fault: str | None) -> str:
    """Runs it; returns "gone" when the charger leaves for good (stuck fault)."""
    cp, truth = c.plan.charge_point_id, c.truth
    if fault in ("boot_loop", "flapping_connection", "charger_offline"):
        await _connectivity_fault(c, fault)
    await c.status(1, "Preparing")
    start_ns, meter_start = time.time_ns(), c.register
    tx = await _start(c, s, fault)
    if fault == "phantom_transaction":
        await c.disconnect()
        await c.connect()
        truth.fault(fault, cp, tx, time.time_ns(), "start replayed after reboot")
        await _start(c, s, None, replay=True)
    await c.status(1, "Charging")
    for i in range(SAMPLES):
        await c.sleep_sim(s.duration_s / SAMPLES)
        c.register += s.energy_wh / SAMPLES
        if fault == "stuck_session" and i == 2:
            truth.fault(fault, cp, tx, time.time_ns(), "offline mid-transaction, never back")
            truth.fault("charger_offline", cp, None, time.time_ns(), "gone for good")
            await c.disconnect()
            return "gone"
        await _sample(c, tx, s, meter_start, i, fault)
    stop_ns = time.time_ns()
    truth.session(cp, 1, tx, start_ns, stop_ns, c.register - meter_start)
    await _stop(c, tx, s, stop_ns, fault)
    c.register, c.register_offset = c.register - c.register_offset, 0.0
    await c.status(1, "Available")
    return "ok"


async def _connectivity_fault(c: SimCharger, fault: str) -> None:
    cp, now = c.plan.charge_point_id, time.time_ns()
    if fault == "boot_loop":
        await c.call("FirmwareStatusNotification", {"status": "Installed"})
    c.truth.fault(fault, cp, None, now)
    rounds = {"boot_loop": 4, "flapping_connection": 5, "charger_offline": 1}[fault]
    for _ in range(rounds):
        await c.disconnect()
        await c.sleep_sim(3 * 3600 if fault == "charger_offline" else 20)
        await c.connect(boot=fault != "flapping_connection")  # flapping: the network, no reboot


async def _start(c: SimCharger, s: SessionPlan, fault: str | None, replay: bool = False) -> str:
    p, tag = c.p, c.id_tag(s)
    if fault == "stop_without_start":
        return f"{9_000_000 + c.plan.seed % 100_000}" if p.protocol == V16 else c.new_tx_id()
    if p.protocol == V16:
        if not replay:
            await c.call("Authorize", {"idTag": tag})
            c.start_payload = {"connectorId": 1, "idTag": tag, "meterStart": round(c.register),
                               "timestamp": c.stamp()}
        answer = await c.call("StartTransaction", c.start_payload)
        return str((answer or {}).get("transactionId"))
    tx = c.current_tx if replay else c.new_tx_id()
    c.current_tx = tx
    await c.call("TransactionEvent", _event(c, "Started", tx, 0, c.register, "Transaction.Begin",
                                            {"idToken": {"idToken": tag, "type": "ISO14443"}}))
    return tx


def _event(c: SimCharger, kind: str, tx: str, seq: int, register: float, context: str,
           extra: dict[str, Any] | None = None, stamp: str | None = None) -> dict[str, Any]:
    return {"eventType": kind, "timestamp": stamp or c.stamp(), "seqNo": seq,
            "triggerReason": {"Started": "Authorized", "Updated": "MeterValuePeriodic"}.get(
                kind, "EVCommunicationLost"),
            "transactionInfo": {"transactionId": tx, "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [{"timestamp": stamp or c.stamp(), "sampledValue": [{
                "value": round(register, 1), "context": context,
                "measurand": "Energy.Active.Import.Register",
                "unitOfMeasure": {"unit": "Wh"}}]}], **(extra or {})}


async def _sample(c: SimCharger, tx: str, s: SessionPlan, meter_start: float, i: int,
                  fault: str | None) -> None:
    if fault == "meter_reset" and i == 3:  # the meter restarted at 0 after the last sample
        c.truth.fault(fault, c.plan.charge_point_id, tx, time.time_ns(), "register reset to 0")
        c.register_offset = c.register - s.energy_wh / SAMPLES
    value = c.register - c.register_offset
    if c.p.session_register:  # the session counter: from 0 at the start, or at the reset
        value = c.register - (c.register_offset or meter_start)
    power_w = s.energy_wh / max(s.duration_s / 3600, 1e-3)
    text, unit = c.meter_text(value)
    if fault == "meter_unit_error" and i == 3 and c.p.kwh_labelled_wh:
        c.truth.fault(fault, c.plan.charge_point_id, tx, time.time_ns(), "Wh among kWh")
        text = f"{value:.0f}"  # its usual label, Wh, for once on a Wh number: 1000x up
    elif fault == "meter_unit_error" and i == 3:
        c.truth.fault(fault, c.plan.charge_point_id, tx, time.time_ns(), "kWh sent as Wh")
        text, unit = f"{value / 1000:.3f}", "Wh"
    if c.p.protocol == V16:
        await c.call("MeterValues", {"connectorId": 1, "transactionId": int(tx), "meterValue": [{
            "timestamp": c.stamp(), "sampledValue": [
                {"value": text, "unit": unit, "measurand": "Energy.Active.Import.Register",
                 "context": "Sample.Periodic"},
                {"value": f"{power_w:.0f}", "unit": "W", "measurand": "Power.Active.Import"}]}]})
        return
    sent = float(text) if fault == "meter_unit_error" and i == 3 else value
    await c.call("TransactionEvent", _event(c, "Updated", tx, i + 1, sent, "Sample.Periodic"))


async def _stop(c: SimCharger, tx: str, s: SessionPlan, stop_ns: int, fault: str | None) -> None:
    cp, stamp = c.plan.charge_point_id, c.stamp(stop_ns)
    register = c.register - c.register_offset
    if fault == "late_stop":  # offline 3 h with the stop queued: the session looks stuck
        await c.disconnect()
        c.truth.fault("charger_offline", cp, None, time.time_ns(), "offline 3 h")
        c.truth.fault("stuck_session", cp, tx, time.time_ns(), "silent 3 h, stop queued")
        await c.sleep_sim(3 * 3600)
        await c.connect(boot=False)
        c.truth.fault(fault, cp, tx, time.time_ns(), "stop delivered 3 h late")
    if fault == "stop_without_start":
        c.truth.fault(fault, cp, tx, time.time_ns(), "start never sent")
    times = 2 if fault == "duplicate_stop" else 1
    for n in range(times):
        if n == 1:
            c.truth.fault("duplicate_stop", cp, tx, time.time_ns(), "stop sent twice")
        if c.p.protocol == V16:
            await c.call("StopTransaction", {"transactionId": int(tx), "meterStop": round(register),
                                             "timestamp": stamp, "reason": "EVDisconnected",
                                             "idTag": c.id_tag(s)})
        else:
            await c.call("TransactionEvent", _event(c, "Ended", tx, SAMPLES + 1 + n, register,
                                                    "Transaction.End", stamp=stamp))
