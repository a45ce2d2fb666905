"""``chargeline prune``: retention for raw frames. Sessions and findings are never pruned."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("prune", help="delete warehouse frames older than N days (never sessions)")
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--older-than", required=True, type=int, metavar="DAYS")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from warehouse.maintenance import prune_frames

    days = prune_frames(args.data_dir, args.older_than, datetime.now(UTC))
    print(f"pruned frames of {len(days)} days" + (f": {days[0]} … {days[-1]}" if days else ""))
    return 0
