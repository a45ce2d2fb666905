"""Physics checks every bill: a finished session's energy against its power and its duration.

1. Against ∫ ``Power.Active.Import`` dt: each power reading over the interval it ends (the
   first from the start, the last held to the stop), when at least 3 were sent and they
   reach past the middle of the session. A ratio outside [1/2, 2] is wrong: ``meter_unit_error``
   when the ratio is a power of ten (±30 %) and more than ``mismatch_tolerance_wh`` is at
   stake — a register scaled x10 after a firmware update (Q9) is the textbook case — else
   ``meter_implausible`` when more than ``plausible_min_wh`` is at stake.
2. Against the charger's plausible maximum power x the session's duration (charger times,
   corrected): ``max_power_ac_w`` (44 kW) for a charger that showed itself AC (per-phase L2/L3
   readings); twice the highest power it ever reported (at least 22 kW) when it reported
   power but never its kind; ``max_power_w`` (400 kW, a DC ceiling) when nothing is known.
   Past it by 10 %: ``meter_implausible`` (e.g. 2,000 Wh in 29 s on an AC charger).
Each finding carries the Wh at stake and holds the session (its flag is a billing hold).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from canonical.enums import AlertKind, SessionFlag
from canonical.events import CanonicalEvent
from flows.config import FlowConfig, S
from flows.readings import POWER
from flows.session import Session

_DECADE_TOLERANCE = math.log10(1.3)


@dataclass(slots=True)
class ChargerKind:
    """What a charger's readings say about how much power it can deliver."""

    ac: bool = False
    max_power_w: float | None = None

    def see(self, e: CanonicalEvent) -> None:
        if e.phase is not None and e.phase[:2] in ("L2", "L3"):
            self.ac = True
        elif e.phase is None and e.measurand == POWER and e.value is not None:
            self.max_power_w = max(self.max_power_w or 0.0, e.value)

    def limit_w(self, config: FlowConfig) -> float:
        if self.ac:
            return max(config.max_power_ac_w, self.max_power_w or 0.0)
        if self.max_power_w:
            return min(config.max_power_w, max(2 * self.max_power_w, 22_000.0))
        return config.max_power_w


def judge(s: Session, energy_wh: float | None, limit_w: float, config: FlowConfig
          ) -> list[tuple[AlertKind, float, str]]:
    """Findings (kind, Wh at stake, message) about a session's physics; [] when plausible."""
    if energy_wh is None or energy_wh < config.mismatch_tolerance_wh:
        return []
    duration_s = _duration_s(s)
    found = _against_power(s, energy_wh, config)
    if found or duration_s is None or energy_wh < config.plausible_min_wh:
        return found
    most_wh = limit_w * 1.1 * duration_s / 3600
    if energy_wh > most_wh:
        return [(AlertKind.meter_implausible, energy_wh - most_wh,
                 f"{energy_wh:.0f} Wh in {duration_s:.0f} s is "
                 f"{energy_wh * 3.6 / duration_s:.1f} kW on a charger good for at most "
                 f"{limit_w / 1000:.0f} kW")]
    return []


def _duration_s(s: Session) -> float | None:
    if s.started_at is None or s.stopped_at is None or s.stopped_at <= s.started_at:
        return None
    return (s.stopped_at - s.started_at) / S


def _expected_wh(s: Session) -> float | None:
    """∫ power dt over the session, from its power readings (charger times as sent): each
    reading over the interval it ends, the first from the start, the last held to the stop;
    None when fewer than 3 readings cover less than half of it."""
    w = s.walk
    first, last = w.first_power, w.last_power
    start, stop = s.start_order, s.stop_order
    if first is None or last is None or start is None or stop is None or stop <= start:
        return None
    if w.power_count < 3 or (last.at - start) < (stop - start) / 2 or first.at < start:
        return None
    return w.power_wh + (first.value * (first.at - start) +
                         last.value * max(0, stop - last.at)) / S / 3600


def _against_power(s: Session, energy_wh: float, config: FlowConfig
                   ) -> list[tuple[AlertKind, float, str]]:
    expected_wh = _expected_wh(s)
    if not expected_wh or expected_wh <= 0:
        return []
    ratio = energy_wh / expected_wh
    at_stake = energy_wh - expected_wh
    if 0.5 <= ratio <= 2 or abs(at_stake) < config.mismatch_tolerance_wh:
        return []
    decade = round(math.log10(ratio))
    if decade != 0 and abs(math.log10(ratio) - decade) <= _DECADE_TOLERANCE:
        return [(AlertKind.meter_unit_error, at_stake,
                 f"register delta {energy_wh:.0f} Wh is {10.0 ** decade:g}x what its power "
                 f"readings give ({expected_wh:.0f} Wh): a scale error")]
    if abs(at_stake) < config.plausible_min_wh:
        return []
    return [(AlertKind.meter_implausible, at_stake,
             f"register delta {energy_wh:.0f} Wh against {expected_wh:.0f} Wh from its "
             "power readings")]


FLAG_OF = {AlertKind.meter_unit_error: SessionFlag.meter_unit_error,
           AlertKind.meter_implausible: SessionFlag.meter_implausible}
