"""One charging session: plugged in, charging at its real power until the car is full (or
unplugged), sampled ``SAMPLES`` times, stopped; with its fault if it carries one.

Physics (see ``sim.meter``): power flows from the start at the session's ``power_w`` for the
first ``charging`` sample intervals, then 0 (SuspendedEV); every interval lasts
``duration_s / SAMPLES / speed`` wall seconds and delivers power x the wall time it really
took. Each periodic sample carries ``Power.Active.Import`` (W) beside the register.
"""

from __future__ import annotations

import dataclasses
import math
import time

from sim import downtime, v21
from sim import transaction as t
from sim.charger import SimCharger
from sim.faults import (
    FIRMWARE_SCALE,
    IMPLAUSIBLE,
    LOST,
    SCALE_AFTER_FIRMWARE,
    SILENT,
    before_session,
    before_stop,
    keep_silent,
    lose_transaction,
)
from sim.messages import END, PERIODIC, Reading
from sim.plan import AC_MAX_W, DC_MAX_W, SessionPlan
from sim.profiles import OFFLINE_QUEUE, PER_TX_METER, RETRANSMIT
from sim.responder import EV_LEFT
from sim.transaction import Tx

SAMPLES = 6
#: A x10 register is labelled a fault only when the Wh it adds pass the flows' tolerance
#: (``FlowConfig.mismatch_tolerance_wh``): a session of 2 Wh booked as 20 is not a finding.
SCALE_VISIBLE_WH = 50.0
#: Simulated seconds a remote-started session charges at most before the car is full.
REMOTE_MAX_S = 10 * 3600.0


async def run_session(c: SimCharger, s: SessionPlan, fault: str | None) -> str:
    """Runs it; returns "gone" when the charger leaves for good (stuck fault), "lost" when it
    rebooted and forgot the transaction (lost_transaction), else "ok". A command may end it
    early (RemoteStop, Unlock, Reset): its stop then says why, and its truth row is what was
    delivered until then."""
    c.connector.claim()
    try:
        await before_session(c, fault)
        await downtime.before_session(c, fault)
        label = fault or (SCALE_AFTER_FIRMWARE if c.meter.scale != 1.0 else None)
        await c.status(1, "Preparing")
        start_ns = time.time_ns()
        tx = _begin(c, s, fault, start_ns)
        if downtime.session_is_dead(c, fault, start_ns):  # Charging, and nothing flows
            c.meter.set_power(0.0, start_ns)
        await t.start(c, tx, stop_without_start=fault == "stop_without_start")
        if fault == "phantom_transaction":
            await c.disconnect()
            await c.connect()
            c.truth.fault(fault, c.plan.charge_point_id, tx.id, time.time_ns(),
                          "start replayed after reboot")
            await t.replay_start(c, tx)
        c.connector.tx = tx
        await c.status(1, "Charging")
        outcome = await _charge(c, s, tx, fault, start_ns)
        if outcome in ("gone", "lost"):
            return outcome
        await _finish(c, tx, fault, label, start_ns)
        return "ok"
    finally:
        c.connector.release()


async def run_remote(c: SimCharger, id_tag: str, tx_id: str = "",
                     remote_start_id: int | None = None, authorize: bool = False) -> None:
    """A session the central system started, on the connector its responder claimed:
    (Preparing,) the start with ``id_tag`` (2.0.1: ``tx_id``, triggerReason RemoteStart),
    Charging, a sample every MeterValueSampleInterval / TxUpdatedInterval, until a command
    stops it, or after ``REMOTE_MAX_S`` the car is full and leaves. Its truth row is like a
    planned session's: what was delivered."""
    try:
        if c.connector.status != "Preparing":
            await c.status(1, "Preparing")
        start_ns = time.time_ns()
        tx = _read_start(c, id_tag, _remote_power_w(c), start_ns)
        tx.id, tx.remote_start_id, tx.authorize = tx_id, remote_start_id, authorize
        await t.start(c, tx)
        c.connector.tx = tx
        await c.status(1, "Charging")
        elapsed_s, index = 0.0, 0
        while elapsed_s < REMOTE_MAX_S and not await c.pause(c.cmd.sample_interval_s):
            elapsed_s += c.cmd.sample_interval_s
            now = time.time_ns()
            c.meter.advance(now)
            await t.sample(c, tx, index, _reading(c, tx, None, index, now))
            index += 1
        await _finish(c, tx, None, None, start_ns)
    finally:
        c.connector.release()


def _remote_power_w(c: SimCharger) -> float:
    """The power of the car a remote start finds: its first planned car's, or a typical one."""
    if c.plan.sessions:
        return c.plan.sessions[0].power_w
    return DC_MAX_W if c.plan.dc else 11_000.0


async def _finish(c: SimCharger, tx: Tx, fault: str | None, label: str | None,
                  start_ns: int) -> None:
    """Unplugged (or stopped by a command): the truth row (what was delivered), then the stop
    as the charger sends it, then the connector's status (Unavailable when a ChangeAvailability
    was scheduled for the end of the transaction)."""
    cause = c.connector.stop_cause or EV_LEFT
    stop_ns = time.time_ns()
    c.meter.set_power(0.0, stop_ns)
    meter_stop = c.meter.reading()
    true_wh = c.meter.true_reading() - tx.true_start
    c.truth.session(c.plan.charge_point_id, 1, tx.id, start_ns, stop_ns, true_wh,
                    sorted(tx.shaped), label)
    if label == SCALE_AFTER_FIRMWARE and (FIRMWARE_SCALE - 1) * true_wh >= SCALE_VISIBLE_WH:
        c.truth.fault(label, c.plan.charge_point_id, tx.id, start_ns, "register x10 since fw")
    await before_stop(c, tx, fault)
    differing = c.rng.randint(300, 800) if fault == "duplicate_stop" else 0
    await t.stop(c, tx, c.reading(meter_stop, END, c.stamp(stop_ns)), meter_stop, stop_ns,
                 differing, cause)
    if v21.speaks_21(c):
        await v21.settle(c, tx.id, true_wh)
    c.meter.settle()
    c.connector.tx = None
    due = c.connector.operative_due
    if due is not None:
        c.connector.operative, c.connector.operative_due = due, None
    await c.status(1, "Available" if c.connector.operative else "Unavailable")


def _read_start(c: SimCharger, id_tag: str, power_w: float, start_ns: int) -> Tx:
    """Read the meter at the start and power on."""
    c.meter.advance(start_ns)
    if c.has(PER_TX_METER):
        c.meter.restart_at_zero()
    tx = t.begin(c, id_tag, start_ns)
    c.meter.set_power(power_w, start_ns)
    return tx


def _begin(c: SimCharger, s: SessionPlan, fault: str | None, start_ns: int) -> Tx:
    """Read the meter at the start, power on, and draw this transaction's habits."""
    tx = _read_start(c, c.id_tag(s), s.power_w, start_ns)
    if fault is None and c.has(OFFLINE_QUEUE):  # a fault's evidence stays live
        first = c.rng.randrange(1, SAMPLES - 2)
        tx.hold = frozenset(range(first, min(first + c.rng.randint(2, 3), SAMPLES - 1)))
    if fault is None and c.has(RETRANSMIT):
        tx.retransmit = c.rng.choice([i for i in range(SAMPLES) if i not in tx.hold])
    return tx


async def _charge(c: SimCharger, s: SessionPlan, tx: Tx, fault: str | None,
                  start_ns: int) -> str:
    """The sample intervals: "done"; "stopped" when a command ended it; "gone" when the
    charger went away for good (stuck fault); "lost" when it forgot it (lost_transaction)."""
    cp = c.plan.charge_point_id
    charging = max(1, min(SAMPLES, round(SAMPLES * s.charging_share)))
    phantom = _implausible_factor(c, s) if fault == IMPLAUSIBLE else 0.0
    for i in range(SAMPLES):
        if await c.pause(s.duration_s / SAMPLES):
            return "stopped"
        if fault == SILENT and i == 0 and await keep_silent(c, tx):
            return "stopped"
        now = time.time_ns()
        before_wh = c.meter.delivered_wh
        c.meter.advance(now)
        if fault == "stuck_session" and i == 2:
            c.truth.fault(fault, cp, tx.id, now, "offline mid-transaction, never back")
            c.truth.fault("charger_offline", cp, None, now, "gone for good")
            await c.disconnect()
            return "gone"
        if fault == LOST and i == 2:
            await lose_transaction(c, tx, start_ns, now)
            return "lost"
        if phantom and i < charging:
            if i == 0:
                c.truth.fault(IMPLAUSIBLE, cp, tx.id, now,
                              f"books {phantom + 1:.1f}x what it delivers")
            c.meter.phantom_wh += phantom * (c.meter.delivered_wh - before_wh)
        if fault == "meter_reset" and i == 3:  # the meter restarted at 0 after the last sample
            c.truth.fault(fault, cp, tx.id, now, "register reset to 0")
            c.meter.reset(kept_wh=c.meter.delivered_wh - before_wh)
            tx.session_base = 0
        await t.sample(c, tx, i, _reading(c, tx, fault, i, now))
        if i == charging - 1 < SAMPLES - 1:  # the car is full
            c.meter.set_power(0.0, now)
            await c.status(1, "SuspendedEV")
    return "done"


def _implausible_factor(c: SimCharger, s: SessionPlan) -> float:
    """Energy the meter counts on top of what it delivers, as a factor of it: at least 2 kWh,
    or 3x what the rating allows in the session's wall time if that is more, by the plan, so
    that no power and duration could explain it; and booked/delivered midway between powers
    of ten (x3.2, x32, x316: never a x10 look-alike, Q9), applied to what is really delivered
    in each interval, so a plan that misjudges the delivery cannot move the ratio."""
    rating_w = DC_MAX_W if c.plan.dc else AC_MAX_W
    wall_h = s.duration_s / c.speed / 3600
    least = max(2000.0, 3 * rating_w * wall_h)
    delivered = max(1.0, s.power_w * s.charging_share * wall_h)
    decade = math.floor(math.log10((delivered + least) / delivered))
    factor = 10 ** (decade + 0.5) - 1
    return factor if factor * delivered >= least else 10 ** (decade + 1.5) - 1


def _reading(c: SimCharger, tx: Tx, fault: str | None, i: int, now: int) -> Reading:
    value = c.meter.reading()
    if c.p.session_register:  # ABB (Q10): the session counter, from 0 at the start or reset
        value -= tx.session_base
    r = c.reading(value, PERIODIC, c.stamp(now), c.meter.power_w)
    if fault != "meter_unit_error" or i != 3:
        return r
    cp = c.plan.charge_point_id
    if c.p.kwh_labelled_wh:
        c.truth.fault(fault, cp, tx.id, now, "Wh among kWh")
        return dataclasses.replace(r, register=f"{value:.0f}")  # its usual Wh label: 1000x up
    c.truth.fault(fault, cp, tx.id, now, "kWh sent as Wh")
    return dataclasses.replace(r, register=f"{value / 1000:.3f}", unit="Wh")
