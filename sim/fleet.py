"""The fleet: N simulated chargers in one asyncio process, a truth file beside them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from canonical.raw import ns_to_rfc3339
from sim.charger import S, SimCharger
from sim.plan import FAULTS, plan_fleet
from sim.truth import Truth


def parse_faults(text: str) -> tuple[str, ...]:
    if text == "none":
        return ()
    if text == "all":
        return FAULTS
    chosen = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown}; valid: all, none, {', '.join(FAULTS)}")
    return chosen


async def run_fleet(url: str, chargers: int, duration_s: float, seed: int, faults: str,
                    speed: float, truth_path: Path) -> int:
    """Runs until ``duration_s`` wall seconds pass; returns the number of chargers that ran."""
    plans = plan_fleet(seed, chargers, duration_s * speed, parse_faults(faults))
    truth = Truth(truth_path)
    t0 = time.time_ns()
    truth.write({"type": "run", "seed": seed, "chargers": chargers, "speed": speed,
                 "duration_s": duration_s, "url": url})
    for plan in plans:
        truth.write({"type": "charger", "charge_point_id": plan.charge_point_id,
                     "profile": plan.profile.name, "fault": plan.fault})
    end = t0 + int(duration_s * S)
    sims = [SimCharger(plan, url, speed, truth, t0) for plan in plans]
    tasks = []
    for i, sim in enumerate(sims):
        tasks.append(asyncio.create_task(sim.run(end)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not storm the server at start
    try:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True),
                               timeout=duration_s + 60)
    except TimeoutError:
        pass
    finally:
        truth.write({"type": "end", "at": ns_to_rfc3339(time.time_ns())})
        truth.close()
    return len(sims)
