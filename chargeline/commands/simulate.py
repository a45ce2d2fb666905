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
    p.add_argument("--redial", action="store_true",
                   help="chargers reconnect when the server drops them (on with --bad-firmware)")
    p.add_argument("--vendors", help="a comma list of vendors (sim/plan.py VENDORS, VENDORS_21): "
                   "only those; all: every vendor of 1.6, 2.0.1 and 2.1")
    p.add_argument("--bad-firmware", action="append", default=[],
                   metavar="VERSION[:EFFECT][@MODEL]",
                   help="chargers (of MODEL) that install VERSION misbehave: boot_loop "
                        "(default), fail_install, no_heartbeat, register_scale (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.firmware import BadFirmware
    from sim.fleet import parse_faults, parse_vendors, run_fleet
    from sim.profiles import parse_profiles

    try:
        parse_faults(args.faults)
        parse_profiles(args.profiles)
        parse_vendors(args.vendors)
        bad = tuple(BadFirmware.parse(text) for text in args.bad_firmware)
    except ValueError as exc:
        print(f"chargeline simulate: {exc}", file=sys.stderr)
        return 2
    try:
        count = asyncio.run(run_fleet(args.url, args.chargers, args.duration, args.seed,
                                      args.faults, args.speed, args.truth, args.profiles,
                                      vendors=args.vendors, bad_firmware=bad,
                                      redial=args.redial))
    except KeyboardInterrupt:
        print(f"chargeline simulate: interrupted; the chargers disconnected, their open "
              f"sessions closed in the truth file {args.truth}", file=sys.stderr)
        return 130
    print(f"chargeline simulate: {count} chargers done; truth in {args.truth}", file=sys.stderr)
    return 0
