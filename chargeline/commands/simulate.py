"""``chargeline simulate``: a fleet of simulated chargers (real OCPP clients) with the habits
of real clients (profiles) and labelled faults, writing the ground truth for
``chargeline score``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="run a simulated fleet against an OCPP endpoint")
    p.add_argument("--url", required=True, help="e.g. ws://127.0.0.1:9000/ocpp")
    p.add_argument("--chargers", type=int, default=10)
    p.add_argument("--duration", type=float, default=60.0, help="wall seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--faults", default="none", help="all, none, or a comma list of faults")
    p.add_argument("--profiles", default="all",
                   help="client profiles to mix in: all, none, or a comma list")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument("--truth", type=Path, required=True, help="ground-truth JSONL to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.fleet import parse_faults, run_fleet
    from sim.profiles import parse_profiles

    try:
        parse_faults(args.faults)
        parse_profiles(args.profiles)
    except ValueError as exc:
        print(f"chargeline simulate: {exc}", file=sys.stderr)
        return 2
    count = asyncio.run(run_fleet(args.url, args.chargers, args.duration, args.seed,
                                  args.faults, args.speed, args.truth, args.profiles))
    print(f"chargeline simulate: {count} chargers done; truth in {args.truth}", file=sys.stderr)
    return 0
