"""The billable-energy rule, in the order finance reads it (``energy_rule`` names the branch):

1. ``register_delta`` — meterStop - meterStart, both trusted. If the register was reset
   inside the session, the energy lost at the reset is added back
   (``register_delta_across_reset``): the charger delivered it before the reset.
2. ``session_register`` — chargers whose transaction register counts the session from 0
   (ABB Q10): its highest value (plus its peaks before any restart at 0), when there is no
   trusted stop.
3. ``previous_stop_as_start`` — the start never came (a stop or samples without a start):
   meterStop (or the last register sample) minus the previous session's meterStop on the same
   connector, when the register did not go down in between (no reset). The session is on hold
   (flag ``stop_without_start``) whatever the rule.
4. ``first_sample_as_start`` — no trusted start (Q11 placeholder 0, start lost, no previous
   stop to go by): meterStop (or the last register sample) minus the first trusted register
   sample.
5. ``so_far`` — still running: last register sample - meterStart.
6. ``interval_sum`` — only interval energy samples: their sum.
7. ``no_meter`` — nothing usable: energy is null and the session is on hold.

A session closed by stuck-session recovery (``flows.recovery``) bills as its evidence says up
to its last trusted register reading, and its rule is ``recovery_last_reading`` whichever
branch computed it (held: flag ``closed_by_recovery``).

Meter samples are evidence beside it: ``samples_energy_wh`` is what the register samples alone
say (last - first + reset losses), for the mismatch check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flows.recovery import RULE as RECOVERY_RULE

if TYPE_CHECKING:
    from flows.session import Session


def billable(s: Session) -> tuple[float | None, str, float | None]:
    """(energy Wh, rule, samples' energy Wh) for a session (see the module docstring)."""
    energy, rule, samples_wh = _billable(s)
    return energy, RECOVERY_RULE if s.recovery is not None else rule, samples_wh


def _billable(s: Session) -> tuple[float | None, str, float | None]:
    w = s.walk
    samples_wh = w.samples_energy()
    start, stop, loss = s.meter_start_wh, s.meter_stop_wh, w.reset_loss_wh
    if start is not None and stop is not None and stop + loss >= start:
        rule = "register_delta_across_reset" if loss else "register_delta"
        return round(stop - start + loss, 3), rule, samples_wh
    if w.session_register_wh is not None:
        return round(w.session_register_wh + w.session_register_lost_wh, 3), \
            "session_register", samples_wh
    end = stop if stop is not None else w.last_register_wh
    previous = s.previous_stop_wh
    if not s.started and end is not None and previous is not None and previous <= end and (
            w.first_register_wh is None or previous <= w.first_register_wh):
        return round(end - previous + loss, 3), "previous_stop_as_start", samples_wh
    if start is None and end is not None and w.first_register_wh is not None:
        return round(end - w.first_register_wh + loss, 3), "first_sample_as_start", samples_wh
    if start is not None and stop is None and w.last_register_wh is not None:
        return round(max(0.0, w.last_register_wh - start + loss), 3), "so_far", samples_wh
    if w.interval_sum_wh:
        return round(w.interval_sum_wh, 3), "interval_sum", samples_wh
    return None, "no_meter", samples_wh
