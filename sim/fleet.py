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
from sim.downtime import close_open
from sim.firmware import BadFirmware
from sim.plan import ALL_FAULTS, FAULTS, VENDORS, VENDORS_21, ChargerPlan, Vendor, plan_fleet
from sim.profiles import parse_profiles
from sim.truth import Truth


def parse_faults(text: str) -> tuple[str, ...]:
    """``all`` (the material faults, ``FAULTS``), ``none`` or a comma list of fault names
    (those of ``FAULTS`` and the recovery faults, ``RECOVERY_FAULTS``)."""
    if text == "none":
        return ()
    if text == "all":
        return tuple(FAULTS)
    chosen = tuple(f.strip() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in ALL_FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown}; valid: all, none, {', '.join(ALL_FAULTS)}")
    return chosen


def parse_vendors(text: str | None) -> tuple[Vendor, ...]:
    """A comma list of vendor names (``abb,keba``) → those vendors; None → ``VENDORS`` (1.6
    and 2.0.1); ``all`` → those and the 2.1 stations (``VENDORS_21``): a three-version fleet."""
    if not text:
        return VENDORS
    if text == "all":
        return VENDORS + VENDORS_21
    known = {v.name: v for v in VENDORS + VENDORS_21}
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(f"unknown vendor {unknown}; valid: {', '.join(known)}")
    return tuple(known[n] for n in names)


#: Simulated seconds the longest session lasts (``sim.plan``: 10 h; a fault adds 3 h).
LONGEST_SESSION_S = (600 + 180) * 60.0


def settle_s(speed: float) -> float:
    """Wall seconds the fleet stays online after its last session, so that the detectors'
    waits (stuck, offline: up to 2 simulated hours, at least 45 s) can pass before the end."""
    return min(600.0, max(45.0, 7200.0 / speed))


async def run_fleet(url: str, chargers: int, duration_s: float, seed: int, faults: str,
                    speed: float, truth_path: Path, profiles: str = "all",
                    settle: float | None = None, vendors: str | None = None,
                    bad_firmware: tuple[BadFirmware, ...] = (), redial: bool = False) -> int:
    """A planned fleet (``plan_fleet``) run by ``run_plans``. ``faults`` and ``profiles``:
    ``all``, ``none`` or comma lists; ``vendors``: a comma list of vendor names (``sim.plan.
    VENDORS``), all when None. Returns the number of chargers."""
    plans = plan_fleet(seed, chargers, duration_s * speed, parse_faults(faults),
                       parse_profiles(profiles), vendors=parse_vendors(vendors))
    return await run_plans(url, plans, duration_s, speed, truth_path, settle,
                           {"seed": seed, "faults": faults, "profiles": profiles},
                           bad_firmware, redial)


async def run_plans(url: str, plans: list[ChargerPlan], duration_s: float, speed: float,
                    truth_path: Path, settle: float | None = None,
                    about: dict[str, Any] | None = None,
                    bad_firmware: tuple[BadFirmware, ...] = (), redial: bool = False) -> int:
    """Starts sessions for ``duration_s`` wall seconds; when every charger is done, stays
    online ``settle`` (default ``settle_s(speed)``) more, writes the ``end`` row (alerts after
    it are not scored: the fleet disconnecting is not a fault), then disconnects. ``about``:
    more fields for the ``run`` row; ``bad_firmware``: images the chargers misbehave on
    (``sim.firmware``); ``redial``: chargers reconnect when the server drops them (always
    with ``bad_firmware``; off by default so fleets planned before run as they did). Returns
    the number of chargers."""
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
    sims = [SimCharger(plan, url, speed, truth, t0, bad_firmware, redial) for plan in plans]
    finished = asyncio.Event()
    tasks = []
    for i, sim in enumerate(sims):
        tasks.append(asyncio.create_task(sim.run(end, finished)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not storm the server at start
    interrupted = False
    try:
        idle = asyncio.gather(*(sim.idle.wait() for sim in sims))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(idle, timeout=duration_s + LONGEST_SESSION_S / speed + 60)
        await asyncio.sleep(settle_s(speed) if settle is None else settle)
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task
        interrupted = True
        raise
    finally:
        end_ns = time.time_ns()
        for sim in sims:
            close_open(sim, end_ns)
        truth.write({"type": "end", "at": ns_to_rfc3339(end_ns)})
        truth.close()
        finished.set()
        if interrupted:  # chargers mid-plan would go on until the duration's end
            for task in tasks:
                task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for sim, outcome in zip(sims, outcomes, strict=True):
        if isinstance(outcome, Exception):  # the rest of the fleet ran on: say who stopped
            print(f"sim: {sim.plan.charge_point_id} stopped early: {outcome!r}", file=sys.stderr)
    return len(sims)
