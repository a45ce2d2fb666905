"""The fleet plan, drawn up front from the seed: who each charger is (vendor, client profiles,
AC or DC), when its sessions happen (simulated seconds from the start), the energy the public
data gives them and the power they charge at, and which labelled fault the charger carries.

Deterministic: ``plan_fleet(seed, ...)`` gives the same plan every time, so two runs with one
seed send the same content (only wall-clock jitter differs).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from canonical.enums import AlertKind
from sim.profiles import (
    DC_PHASE_L1,
    HONEST_DST,
    PER_TX_METER,
    PROFILE_NAMES,
    assign_profiles,
)

STATS = Path(__file__).with_name("data") / "session_stats.json"

#: Material faults, each labelled with the alert that should catch it (AlertKind values).
FAULTS: dict[str, str] = {
    **{kind.value: kind.value for kind in (
        AlertKind.clock_drift, AlertKind.clock_timezone_offset, AlertKind.clock_unsynced,
        AlertKind.phantom_transaction, AlertKind.duplicate_stop, AlertKind.late_stop,
        AlertKind.stop_without_start, AlertKind.stuck_session, AlertKind.meter_reset,
        AlertKind.meter_unit_error, AlertKind.boot_loop, AlertKind.flapping_connection,
        AlertKind.charger_offline)},
    "register_scale_after_firmware": AlertKind.meter_unit_error.value,
    "implausible_energy": AlertKind.meter_implausible.value,  # energy beyond power x time
}

#: Faults for the stuck-session recovery, selectable by name (``--faults lost_transaction``)
#: but not in ``all``, so fleets planned before them run as they did. ``silent_session`` is
#: no fault to alert on: its kind is no ``AlertKind``, so a recovery that closes it (or an
#: alert on it) counts against the pipeline (``sim/README.md``).
RECOVERY_FAULTS: dict[str, str] = {
    "lost_transaction": AlertKind.stuck_session.value,  # rebooted, forgot it, never stops
    "silent_session": "silent_session",                 # silent a while, then stops normally
}
#: Downtime faults for the uptime views (``sim.downtime``), by name only, like the above.
DOWNTIME_FAULTS: dict[str, str] = {
    "port_outage": "port_downtime", "port_faulted": "port_downtime",
    "dead_port": "port_downtime"}
ALL_FAULTS: dict[str, str] = FAULTS | RECOVERY_FAULTS | DOWNTIME_FAULTS

#: Time zones with daylight saving for ``honest_dst_offsets`` chargers (both hemispheres).
DST_ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney")

AC_MAX_W, DC_MAX_W = 22_000.0, 50_000.0


@dataclass(frozen=True, slots=True)
class Vendor:
    """How one vendor's firmware talks (see QUIRKS.md)."""

    name: str
    protocol: str
    vendor: str
    model: str
    firmware: str
    meter_unit: str = "Wh"          # unit label sent; kWh sends value/1000
    kwh_labelled_wh: bool = False   # OpenEVSE Q6
    session_register: bool = False  # ABB Q10
    idtag_suffix: bool = False      # Keba Q27
    local_offset_min: int | None = None  # Growatt Q1: no offset, local time
    v2x: bool = False               # 2.1 bidirectional: an export register beside import

    @property
    def plain_meter(self) -> bool:
        """A Wh register read as it is (no vendor meter quirk)."""
        return (self.meter_unit == "Wh" and not self.kwh_labelled_wh
                and not self.session_register)


VENDORS = (
    Vendor("abb", "ocpp1.6", "ABB", "Terra AC", "1.6.8", session_register=True),
    Vendor("alfen", "ocpp1.6", "Alfen BV", "NG910-60023", "5.8.1"),
    Vendor("keba", "ocpp1.6", "KEBA AG", "KC-P30", "3.10.16", idtag_suffix=True),
    Vendor("wallbox", "ocpp1.6", "Wall Box Chargers", "Pulsar Plus", "5.5.10"),
    Vendor("huawei", "ocpp1.6", "Huawei", "SCharger-22KT-S0", "V100R023", meter_unit="kWh"),
    Vendor("growatt", "ocpp1.6", "Growatt", "THOR 22AS", "1.0.5", local_offset_min=0),
    Vendor("openevse", "ocpp1.6", "OpenEVSE", "openevse_esp32", "4.2.2",
           kwh_labelled_wh=True),
    Vendor("zaptec", "ocpp1.6", "Zaptec", "Go 2", "2.3.0"),
    Vendor("iocharger", "ocpp2.0.1", "Iocharger", "IOCAW12-22TE-CRW4", "25101501"),
    Vendor("generic201", "ocpp2.0.1", "chargeline", "sim-201", "1.0"),
)
#: OCPP 2.1 stations (``sim/v21.py``): not in ``VENDORS``, so fleets planned before them are
#: unchanged; ``--vendors`` names them, ``--vendors all`` takes every vendor of every version.
VENDORS_21 = (
    Vendor("generic21", "ocpp2.1", "chargeline", "sim-21", "1.0"),
    Vendor("bidi21", "ocpp2.1", "chargeline", "sim-21-v2x", "1.0", v2x=True),
)


@dataclass(frozen=True, slots=True)
class SessionPlan:
    start_s: float      # simulated seconds after the fleet start
    duration_s: float   # simulated, plugged in
    energy_wh: float    # what the public data says the car took (at speed 1)
    power_w: float      # charging power while it charges (real: not scaled by speed)
    id_tag: str

    @property
    def charging_share(self) -> float:
        """The part of the plug-in time it charges at ``power_w`` (then the car is full)."""
        return min(1.0, self.energy_wh / (self.power_w * self.duration_s / 3600))


@dataclass(slots=True)
class ChargerPlan:
    charge_point_id: str
    vendor: Vendor
    seed: int
    profiles: tuple[str, ...] = ()
    sessions: list[SessionPlan] = field(default_factory=list)
    fault: str | None = None
    fault_session: int = 0
    zone: str = "UTC"   # its local time zone (``honest_dst_offsets``)
    traits: tuple[str, ...] = ()   # command traits (``sim.profiles.COMMAND_TRAITS``)

    @property
    def dc(self) -> bool:
        return DC_PHASE_L1 in self.profiles

    @property
    def fault_kind(self) -> str | None:
        """The alert kind its fault is labelled with."""
        return ALL_FAULTS[self.fault] if self.fault else None


def _quantile(values: list[float], rng: random.Random) -> float:
    """A draw from a distribution given by its 21 quantiles (linear between them)."""
    u = rng.random() * (len(values) - 1)
    i = int(u)
    return values[i] + (values[min(i + 1, len(values) - 1)] - values[i]) * (u - i)


def _power_w(rng: random.Random, stats: dict[str, list[float]], dc: bool) -> float:
    """Charging power, W: a draw from the real distribution (AC: Boulder's Level 2, DC: Dundee's
    rapid chargers), within the charger's rating."""
    if dc:
        return min(max(_quantile(stats["dc_power_kw_quantiles"], rng), 10.0), 50.0) * 1000
    return min(max(_quantile(stats["ac_power_kw_quantiles"], rng), 1.4), 22.0) * 1000


def _sessions(rng: random.Random, stats: dict[str, list[float]], horizon_s: float,
              start_hour: float, dc: bool) -> list[SessionPlan]:
    """Arrivals by hour of day; plug-in time, energy and power drawn from the data. The car
    stays plugged in at least as long as its energy takes at its power (up to 10 h, and no
    more energy than that), so power stays real and power x charging time is the energy."""
    weights = stats["arrival_weight_by_hour"]
    out, t = [], rng.uniform(0, 600)
    while t < horizon_s:
        hour = int((start_hour + t / 3600) % 24)
        busy = weights[hour] / max(weights)
        if rng.random() < 0.35 + 0.65 * busy:
            minutes = min(max(_quantile(stats["duration_min_quantiles"], rng), 5.0), 600.0)
            kwh = max(_quantile(stats["energy_kwh_quantiles"], rng), 0.2)
            power_w = round(_power_w(rng, stats, dc))
            minutes = min(600.0, max(minutes, kwh / power_w * 1000 * 60))
            kwh = min(kwh, power_w / 1000 * minutes / 60)
            out.append(SessionPlan(t, minutes * 60, round(kwh * 1000, 1), power_w,
                                   f"TAG{rng.randrange(10**6):06d}"))
            t += minutes * 60 + rng.expovariate(1 / 1800)
        else:
            t += rng.expovariate(1 / 3600)
    return out


_WHOLE_REGISTER_FAULTS = ("meter_reset", "meter_unit_error")


def plan_fleet(seed: int, chargers: int, horizon_s: float,
               faults: tuple[str, ...] = tuple(FAULTS),
               profiles: tuple[str, ...] = PROFILE_NAMES,
               start_hour: float = 8.0,
               vendors: tuple[Vendor, ...] = VENDORS) -> list[ChargerPlan]:
    """Every charger's plan. ``horizon_s`` is the simulated length of the run; ``faults`` and
    ``profiles`` the fault names and client profiles to spread over the fleet; ``vendors``
    taken in turn (all of ``VENDORS`` by default)."""
    stats = json.loads(STATS.read_text())
    plans: list[ChargerPlan] = []
    seen: dict[str, int] = {}   # chargers per protocol so far: the profile rotation
    for i in range(chargers):
        rng = random.Random(seed * 1_000_003 + i)
        vendor = vendors[i % len(vendors)]
        plan = ChargerPlan(f"SIM-{vendor.name.upper()}-{i:04d}", vendor, rng.randrange(2**31))
        slot = seen.get(vendor.protocol, 0)
        seen[vendor.protocol] = slot + 1
        plan.profiles = assign_profiles(vendor, slot, rng, profiles)
        if HONEST_DST in plan.profiles:
            plan.zone = DST_ZONES[rng.randrange(len(DST_ZONES))]
        plan.sessions = _sessions(rng, stats, horizon_s * 0.8, start_hour, plan.dc)
        if faults and i % 3 == 1 and plan.sessions:
            plan.fault = faults[(i // 3) % len(faults)]
            plan.fault_session = rng.randrange(len(plan.sessions))
        if plan.fault in _WHOLE_REGISTER_FAULTS:
            # A meter that counts each transaction from 0 holds one session's worth (tens of
            # Wh at speed): a restart or a x1000 step of that is below any tolerance, so the
            # fault could not be seen. These faults need a cumulative register.
            plan.profiles = tuple(p for p in plan.profiles if p != PER_TX_METER)
        plans.append(plan)
    return plans
