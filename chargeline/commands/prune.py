"""``chargeline prune``: retention for raw frames — the warehouse's ``frames`` table by day, or
(``--journal``) the journal's sealed segments. Sessions and findings are never pruned."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("prune", help="delete warehouse frames (or, --journal, journal segments) "
                                     "older than N days (never sessions)")
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--older-than", required=True, type=int, metavar="DAYS")
    p.add_argument("--journal", action="store_true",
                   help="prune the journal instead: seal closed segments (zstd Parquet), then "
                        "remove sealed ones older than DAYS whose every frame the warehouse "
                        "holds; never a frame the flow has not written")
    p.add_argument("--archive", type=Path, metavar="DIR",
                   help="with --journal: move the segments there instead of deleting them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    if args.journal:
        return _prune_journal(args.data_dir, args.older_than, datetime.now(UTC), args.archive)
    from warehouse.maintenance import prune_frames

    days = prune_frames(args.data_dir, args.older_than, datetime.now(UTC))
    print(f"pruned frames of {len(days)} days" + (f": {days[0]} … {days[-1]}" if days else ""))
    return 0


def _prune_journal(data_dir: Path, days: int, now: Any, archive: Path | None) -> int:
    from ingest.retention import prune_journal

    report = prune_journal(data_dir, days, now, warehouse_taken(data_dir), archive)
    verb = f"archived to {archive}" if archive else "deleted"
    print(f"journal: sealed {report.sealed} segments; {verb} {len(report.removed)} "
          f"({report.bytes_removed / 2**20:.1f} MiB, frames "
          + (f"{report.removed[0].first_frame_id}-{report.removed[-1].last_frame_id})"
             if report.removed else "none)"))
    for span in report.kept_not_taken:
        print(f"kept {span.segment.path.name}: older than {days} days but the warehouse lacks "
              f"some of frames {span.first_frame_id}-{span.last_frame_id} (is the flow running?)")
    return 0


def warehouse_taken(data_dir: Path) -> Any:
    """``taken(first, last)``: distinct frame ids in ``[first, last]`` the warehouse's
    ``frames`` table holds (0 when there is no warehouse yet)."""
    from warehouse.catalog import connect, query
    from warehouse.layout import warehouse_dir

    if not warehouse_dir(data_dir).is_dir():
        return lambda first, last: 0
    con = connect(data_dir)

    def taken(first: int, last: int) -> int:
        result = query(con, data_dir, "select count(distinct frame_id) as n from frames "
                       "where frame_id between $first and $last",
                       {"first": first, "last": last})
        return int(result.column("n")[0].as_py())

    return taken
