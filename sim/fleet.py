"""The fleet: N simulated chargers in one asyncio process, a truth file beside them."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

from canonical.raw import ns_to_rfc3339
from sim.charger import S, SimCharger
from sim.plan import FAULTS, ChargerPlan, plan_fleet
from sim.profiles import parse_profiles
from sim.truth import Truth


def parse_faults(text: str) -> tuple[str, ...]:
    """``all``, ``none`` or a comma list of fault names."""
    if text == "none":
        return ()
    if text == "all":
        return tuple(FAULTS)
    chosen = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown}; valid: all, none, {', '.join(FAULTS)}")
    return chosen


#: Simulated seconds the longest session lasts (``sim.plan``: 10 h; a fault adds 3 h).
LONGEST_SESSION_S = (600 + 180) * 60.0


def settle_s(speed: float) -> float:
    """Wall seconds the fleet stays online after its last session, so that the detectors'
    waits (stuck, offline: up to 2 simulated hours, at least 45 s) can pass before the end."""
    return min(600.0, max(45.0, 7200.0 / speed))


async def run_fleet(url: str, chargers: int, duration_s: float, seed: int, faults: str,
                    speed: float, truth_path: Path, profiles: str = "all",
                    settle: float | None = None) -> int:
    """A planned fleet (``plan_fleet``) run by ``run_plans``. ``faults`` and ``profiles``:
    ``all``, ``none`` or comma lists. Returns the number of chargers."""
    plans = plan_fleet(seed, chargers, duration_s * speed, parse_faults(faults),
                       parse_profiles(profiles))
    return await run_plans(url, plans, duration_s, speed, truth_path, settle,
                           {"seed": seed, "faults": faults, "profiles": profiles})


async def run_plans(url: str, plans: list[ChargerPlan], duration_s: float, speed: float,
                    truth_path: Path, settle: float | None = None,
                    about: dict[str, Any] | None = None) -> int:
    """Starts sessions for ``duration_s`` wall seconds; when every charger is done, stays
    online ``settle`` (default ``settle_s(speed)``) more, writes the ``end`` row (alerts after
    it are not scored: the fleet disconnecting is not a fault), then disconnects. ``about``:
    more fields for the ``run`` row. Returns the number of chargers."""
    truth = Truth(truth_path)
    t0 = time.time_ns()
    truth.write({"type": "run", "chargers": len(plans), "speed": speed,
                 "duration_s": duration_s, "url": url, **(about or {})})
    for plan in plans:
        truth.write({"type": "charger", "charge_point_id": plan.charge_point_id,
                     "vendor": plan.vendor.name, "protocol": plan.vendor.protocol,
                     "dc": plan.dc, "profiles": list(plan.profiles), "fault": plan.fault,
                     "fault_kind": plan.fault_kind})
    end = t0 + int(duration_s * S)
    sims = [SimCharger(plan, url, speed, truth, t0) for plan in plans]
    finished = asyncio.Event()
    tasks = []
    for i, sim in enumerate(sims):
        tasks.append(asyncio.create_task(sim.run(end, finished)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not storm the server at start
    try:
        idle = asyncio.gather(*(sim.idle.wait() for sim in sims))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(idle, timeout=duration_s + LONGEST_SESSION_S / speed + 60)
        await asyncio.sleep(settle_s(speed) if settle is None else settle)
    finally:
        truth.write({"type": "end", "at": ns_to_rfc3339(time.time_ns())})
        truth.close()
        finished.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for sim, outcome in zip(sims, outcomes, strict=True):
        if isinstance(outcome, Exception):  # the rest of the fleet ran on: say who stopped
            print(f"sim: {sim.plan.charge_point_id} stopped early: {outcome!r}", file=sys.stderr)
    return len(sims)
