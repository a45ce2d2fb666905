"""A charger's energy meter: the physics of the simulation.

``delivered_wh`` integrates the charging power over the real (wall) clock, the same clock the
charger's timestamps come from, so energy, power samples and timestamps always agree: at
``--speed`` X a session of D simulated minutes charging at P kW lasts D/X wall minutes and
delivers P*D/X kWh. The register is read in whole Wh (a meter counts whole units; 1.6 sends
integers), so a reading may lag the energy by under 1 Wh.

The register can be wrong in the ways the labelled faults need (a reset, a x10 scale after a
firmware update, energy counted that was never delivered), while ``true_reading`` stays what a
healthy meter would show: the truth is the difference of true readings, what was delivered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Wh in one W*ns.
WH_PER_W_NS = 1 / 3.6e12


@dataclass(slots=True)
class Meter:
    delivered_wh: float       # since the meter was made (float, exact)
    at_ns: int                # wall time (ns) ``delivered_wh`` is valid at
    power_w: float = 0.0      # power flowing since ``at_ns``
    zero_wh: float = 0.0      # where the register reads 0 (a per-transaction meter's restart)
    lost_wh: float = 0.0      # fault: a reset lost this much (the register reads less)
    scale: float = 1.0        # fault: firmware reads the register xscale
    phantom_wh: float = 0.0   # fault: counted but never delivered

    def advance(self, now_ns: int) -> None:
        """Integrate the current power up to ``now_ns``."""
        if now_ns > self.at_ns:
            self.delivered_wh += self.power_w * (now_ns - self.at_ns) * WH_PER_W_NS
            self.at_ns = now_ns

    def set_power(self, power_w: float, now_ns: int) -> None:
        self.advance(now_ns)
        self.power_w = power_w

    def true_reading(self) -> int:
        """The register a healthy meter shows (whole Wh)."""
        return math.floor(self.delivered_wh - self.zero_wh + 1e-9)

    def reading(self) -> int:
        """The register this meter shows, its faults included (whole Wh)."""
        counted = self.delivered_wh - self.zero_wh - self.lost_wh + self.phantom_wh
        return math.floor(self.scale * counted + 1e-9)

    def restart_at_zero(self) -> None:
        """A per-transaction meter starts a transaction: the register reads 0 (benign)."""
        self.zero_wh = self.delivered_wh
        self.lost_wh = self.phantom_wh = 0.0

    def reset(self, kept_wh: float) -> None:
        """Fault: the register restarted at 0 ``kept_wh`` ago (it now reads about that)."""
        self.lost_wh = self.delivered_wh - self.zero_wh + self.phantom_wh - kept_wh

    def settle(self) -> None:
        """After a session: what the register shows is what it counts on from (a reset stays
        reset, phantom energy stays counted); the true readings keep their own baseline."""
        self.zero_wh += self.lost_wh - self.phantom_wh
        self.lost_wh = self.phantom_wh = 0.0
