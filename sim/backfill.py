"""``backfill_weeks`` (Q33, steve#1693): the charger was offline for weeks; on reconnect it
delivers the transactions it finished meanwhile, weeks old: 1.6 start/stop pairs, 2.0.1
Started/Ended with ``offline: true``. Real, billable sessions (truth rows with their energy),
not a clock offset: the charger's clock is right, the messages are old. Their stops are
truly late: each is labelled `late_stop` (an info alert, never a hold).

Physics: each one happened at its own time, charging at its plan's power for its plan's
charging time (speed does not apply to the past), so its energy, its duration and its
timestamps agree. The register had counted them before the charger came back.
"""

from __future__ import annotations

import time

from canonical.enums import AlertKind
from sim import transaction as t
from sim.charger import S, SimCharger
from sim.messages import END
from sim.plan import SessionPlan
from sim.profiles import BACKFILL, PER_TX_METER

WEEK_S = 7 * 86_400


async def backfill(c: SimCharger) -> None:
    """Send 1 to 3 finished transactions of 2 to 6 weeks ago, oldest first, each a day or
    more apart. Nothing when the charger has no ``backfill_weeks`` or no planned session to
    take a car from."""
    if not c.has(BACKFILL) or not c.plan.sessions:
        return
    count = c.rng.randint(1, 3)
    at_ns = time.time_ns() - int(c.rng.uniform(2, 6) * WEEK_S * S)
    for k in range(count):
        s = c.plan.sessions[k % len(c.plan.sessions)]
        duration_s = s.duration_s * c.rng.uniform(0.6, 1.4)  # another day, another car
        await _one(c, s, at_ns, at_ns + int(duration_s * S), duration_s * s.charging_share)
        at_ns += int((duration_s + c.rng.uniform(1, 3) * 86_400) * S)


async def _one(c: SimCharger, s: SessionPlan, start_ns: int, stop_ns: int,
               charging_s: float) -> None:
    meter = c.meter
    if c.has(PER_TX_METER):
        meter.restart_at_zero()
    tx = t.begin(c, c.id_tag(s), start_ns)
    tx.offline = True
    tx.shaped.add(BACKFILL)
    meter.delivered_wh += s.power_w * charging_s / 3600  # delivered back then
    meter_stop = meter.reading()
    await t.start(c, tx)
    c.truth.session(c.plan.charge_point_id, 1, tx.id, start_ns, stop_ns,
                    meter.true_reading() - tx.true_start, sorted(tx.shaped), None)
    await t.stop(c, tx, c.reading(meter_stop, END, c.stamp(stop_ns)), meter_stop, stop_ns)
    # Its stop really arrives weeks after its time: a true ``late_stop`` (info, never held).
    c.truth.fault(AlertKind.late_stop.value, c.plan.charge_point_id, tx.id, time.time_ns(),
                  "back-filled stop, weeks late")
    meter.settle()
