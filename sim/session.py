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

from sim import transaction as t
from sim.charger import SimCharger
from sim.faults import (
    FIRMWARE_SCALE,
    IMPLAUSIBLE,
    SCALE_AFTER_FIRMWARE,
    before_session,
    before_stop,
)
from sim.messages import END, PERIODIC, Reading
from sim.plan import AC_MAX_W, DC_MAX_W, SessionPlan
from sim.profiles import OFFLINE_QUEUE, PER_TX_METER, RETRANSMIT
from sim.transaction import Tx

SAMPLES = 6
#: A x10 register is labelled a fault only when the Wh it adds pass the flows' tolerance
#: (``FlowConfig.mismatch_tolerance_wh``): a session of 2 Wh booked as 20 is not a finding.
SCALE_VISIBLE_WH = 50.0


async def run_session(c: SimCharger, s: SessionPlan, fault: str | None) -> str:
    """Runs it; returns "gone" when the charger leaves for good (stuck fault)."""
    await before_session(c, fault)
    label = fault or (SCALE_AFTER_FIRMWARE if c.meter.scale != 1.0 else None)
    await c.status(1, "Preparing")
    start_ns = time.time_ns()
    tx = _begin(c, s, fault, start_ns)
    await t.start(c, tx, stop_without_start=fault == "stop_without_start")
    if fault == "phantom_transaction":
        await c.disconnect()
        await c.connect()
        c.truth.fault(fault, c.plan.charge_point_id, tx.id, time.time_ns(),
                      "start replayed after reboot")
        await t.replay_start(c, tx)
    await c.status(1, "Charging")
    if not await _charge(c, s, tx, fault):
        return "gone"
    await _finish(c, tx, fault, label, start_ns)
    return "ok"


async def _finish(c: SimCharger, tx: Tx, fault: str | None, label: str | None,
                  start_ns: int) -> None:
    """Unplugged: the truth row (what was delivered), then the stop as the charger sends it."""
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
                 differing)
    c.meter.settle()
    await c.status(1, "Available")


def _begin(c: SimCharger, s: SessionPlan, fault: str | None, start_ns: int) -> Tx:
    """Read the meter at the start, power on, and draw this transaction's habits."""
    c.meter.advance(start_ns)
    if c.has(PER_TX_METER):
        c.meter.restart_at_zero()
    tx = t.begin(c, c.id_tag(s), start_ns)
    c.meter.set_power(s.power_w, start_ns)
    if fault is None and c.has(OFFLINE_QUEUE):  # a fault's evidence stays live
        first = c.rng.randrange(1, SAMPLES - 2)
        tx.hold = frozenset(range(first, min(first + c.rng.randint(2, 3), SAMPLES - 1)))
    if fault is None and c.has(RETRANSMIT):
        tx.retransmit = c.rng.choice([i for i in range(SAMPLES) if i not in tx.hold])
    return tx


async def _charge(c: SimCharger, s: SessionPlan, tx: Tx, fault: str | None) -> bool:
    """The sample intervals; False when the charger went away for good (stuck fault)."""
    cp = c.plan.charge_point_id
    charging = max(1, min(SAMPLES, round(SAMPLES * s.charging_share)))
    phantom = _implausible_factor(c, s) if fault == IMPLAUSIBLE else 0.0
    for i in range(SAMPLES):
        await c.sleep_sim(s.duration_s / SAMPLES)
        now = time.time_ns()
        before_wh = c.meter.delivered_wh
        c.meter.advance(now)
        if fault == "stuck_session" and i == 2:
            c.truth.fault(fault, cp, tx.id, now, "offline mid-transaction, never back")
            c.truth.fault("charger_offline", cp, None, now, "gone for good")
            await c.disconnect()
            return False
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
    return True


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
