"""The fleet plan, drawn up front from the seed: who each charger is, when its sessions happen
(simulated seconds from the start), how much energy, and which labelled fault it carries.

Deterministic: ``plan_fleet(seed, ...)`` gives the same plan every time, so two runs with one
seed send the same content (only wall-clock jitter differs).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

STATS = Path(__file__).with_name("data") / "session_stats.json"

#: Fault kinds, named as the alerts that should catch them.
FAULTS = ("clock_drift", "clock_timezone_offset", "clock_unsynced", "phantom_transaction",
          "duplicate_stop", "late_stop", "stop_without_start", "stuck_session", "meter_reset",
          "meter_unit_error", "boot_loop", "flapping_connection", "charger_offline")


@dataclass(frozen=True, slots=True)
class Profile:
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


PROFILES = (
    Profile("abb", "ocpp1.6", "ABB", "Terra AC", "1.6.8", session_register=True),
    Profile("alfen", "ocpp1.6", "Alfen BV", "NG910-60023", "5.8.1"),
    Profile("keba", "ocpp1.6", "KEBA AG", "KC-P30", "3.10.16", idtag_suffix=True),
    Profile("wallbox", "ocpp1.6", "Wall Box Chargers", "Pulsar Plus", "5.5.10"),
    Profile("huawei", "ocpp1.6", "Huawei", "SCharger-22KT-S0", "V100R023", meter_unit="kWh"),
    Profile("growatt", "ocpp1.6", "Growatt", "THOR 22AS", "1.0.5", local_offset_min=0),
    Profile("openevse", "ocpp1.6", "OpenEVSE", "openevse_esp32", "4.2.2",
            kwh_labelled_wh=True),
    Profile("zaptec", "ocpp1.6", "Zaptec", "Go 2", "2.3.0"),
    Profile("iocharger", "ocpp2.0.1", "Iocharger", "IOCAW12-22TE-CRW4", "25101501"),
    Profile("generic201", "ocpp2.0.1", "chargeline", "sim-201", "1.0"),
)


@dataclass(frozen=True, slots=True)
class SessionPlan:
    start_s: float      # simulated seconds after the fleet start
    duration_s: float   # simulated
    energy_wh: float
    id_tag: str


@dataclass(slots=True)
class ChargerPlan:
    charge_point_id: str
    profile: Profile
    seed: int
    sessions: list[SessionPlan] = field(default_factory=list)
    fault: str | None = None
    fault_session: int = 0


def _quantile(values: list[float], rng: random.Random) -> float:
    """A draw from a distribution given by its 21 quantiles (linear between them)."""
    u = rng.random() * (len(values) - 1)
    i = int(u)
    return values[i] + (values[min(i + 1, len(values) - 1)] - values[i]) * (u - i)


def _sessions(rng: random.Random, stats: dict[str, list[float]], horizon_s: float,
              start_hour: float) -> list[SessionPlan]:
    weights = stats["arrival_weight_by_hour"]
    out, t = [], rng.uniform(0, 600)
    while t < horizon_s:
        hour = int((start_hour + t / 3600) % 24)
        busy = weights[hour] / max(weights)
        if rng.random() < 0.35 + 0.65 * busy:
            minutes = min(max(_quantile(stats["duration_min_quantiles"], rng), 5.0), 600.0)
            kwh = max(_quantile(stats["energy_kwh_quantiles"], rng), 0.2)
            kwh = min(kwh, minutes / 60 * 22)  # no more than 22 kW on average
            out.append(SessionPlan(t, minutes * 60, round(kwh * 1000, 1),
                                   f"TAG{rng.randrange(10**6):06d}"))
            t += minutes * 60 + rng.expovariate(1 / 1800)
        else:
            t += rng.expovariate(1 / 3600)
    return out


def plan_fleet(seed: int, chargers: int, horizon_s: float, faults: tuple[str, ...] = FAULTS,
               start_hour: float = 8.0) -> list[ChargerPlan]:
    """Every charger's plan. ``horizon_s`` is the simulated length of the run."""
    stats = json.loads(STATS.read_text())
    plans = []
    for i in range(chargers):
        rng = random.Random(seed * 1_000_003 + i)
        profile = PROFILES[i % len(PROFILES)]
        plan = ChargerPlan(f"SIM-{profile.name.upper()}-{i:04d}", profile, rng.randrange(2**31))
        plan.sessions = _sessions(rng, stats, horizon_s * 0.8, start_hour)
        if faults and i % 3 == 1 and plan.sessions:
            plan.fault = faults[(i // 3) % len(faults)]
            plan.fault_session = rng.randrange(len(plan.sessions))
        plans.append(plan)
    return plans
