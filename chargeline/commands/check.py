"""``chargeline check``: great-expectations suites over the warehouse; non-zero on failure."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("check", help="data quality checks on the warehouse (exit 1 on failure)")
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--view", action="append", dest="views",
                   help="only this view (repeatable): sessions, events, frames, alerts")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from canonical.errors import RegistryError
    from warehouse.checks import run_checks
    from warehouse.checks.suites import SUITES

    for view in args.views or []:
        if view not in SUITES:
            raise RegistryError("check suite", view, list(SUITES))
    report = run_checks(args.data_dir, args.views)
    print(report.render())
    return 0 if report.ok else 1
