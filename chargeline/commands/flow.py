"""``chargeline flow`` (live, tailing the journal) and ``chargeline replay`` (all of it, then
exit): journal → adapters → sessions and detectors → warehouse."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    for name, help_text in (("flow", "run the dataflow live, tailing the journal"),
                            ("replay", "rebuild sessions and findings from the whole journal")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--data-dir", type=Path, default=Path("data"))
        p.add_argument("--workers", type=int, default=1, help="Bytewax worker threads")
        p.add_argument("--stuck-after", type=float, default=None, metavar="S",
                       help="seconds of silence before a session is stuck (default 1800)")
        p.add_argument("--offline-after", type=float, default=None, metavar="S",
                       help="seconds disconnected before charger_offline (default 300)")
        p.add_argument("--late-stop", type=float, default=None, metavar="S",
                       help="seconds after its own time a Stop counts as late (default 900)")
        p.add_argument("--snapshot-interval", type=float, default=2.0, metavar="S",
                       help="seconds between recovery snapshots")
        p.set_defaults(func=run, follow=name == "flow")


def run(args: argparse.Namespace) -> int:
    from flows.runner import FlowSettings, run_flow

    settings = FlowSettings(args.data_dir, follow=args.follow, workers=args.workers,
                            stuck_after_s=args.stuck_after, offline_after_s=args.offline_after,
                            late_stop_s=args.late_stop,
                            snapshot_interval_s=args.snapshot_interval)
    if not args.follow:
        _fresh_replay(args.data_dir)
    run_flow(settings)
    return 0


def _fresh_replay(data_dir: Path) -> None:
    """A replay rebuilds: derived tables and recovery state go, the journal stays."""
    shutil.rmtree(data_dir / "recovery", ignore_errors=True)
    from warehouse.layout import warehouse_dir
    from warehouse.tables import TABLES

    for table in TABLES:
        shutil.rmtree(warehouse_dir(data_dir) / table, ignore_errors=True)
    print(f"chargeline replay: rebuilding {data_dir}", file=sys.stderr)
