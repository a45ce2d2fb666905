"""``chargeline export finance``: billable sessions of a date range as CSV or Parquet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="export warehouse data (finance sessions)")
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    finance = what.add_parser("finance", help="finance_sessions stopped within --from..--to (UTC)")
    finance.add_argument("--data-dir", required=True, type=Path)
    finance.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD")
    finance.add_argument("--to", dest="last_day", required=True, metavar="YYYY-MM-DD",
                         help="inclusive")
    finance.add_argument("--format", choices=["csv", "parquet"], default="csv")
    finance.add_argument("--output", required=True, type=Path)
    finance.set_defaults(func=run_finance)


def run_finance(args: argparse.Namespace) -> int:
    from warehouse.export import export_finance, parse_day

    first = parse_day(args.first_day, "--from")
    last = parse_day(args.last_day, "--to")
    count = export_finance(args.data_dir, first, last, args.format, args.output)
    print(f"wrote {count} sessions to {args.output}", file=sys.stderr)
    return 0
