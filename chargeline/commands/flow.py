"""``chargeline flow`` (live, tailing the journal) and ``chargeline replay`` (all of it, then
exit): journal → adapters → sessions and detectors → warehouse."""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from chargeline.ports import free_port


def register(sub: Any) -> None:
    for name, help_text in (("flow", "run the dataflow live, tailing the journal"),
                            ("replay", "rebuild sessions and findings from the whole journal")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--data-dir", type=Path, default=Path("data"))
        p.add_argument("--workers", type=int, default=1,
                       help="Bytewax worker threads per process")
        p.add_argument("--processes", type=int, default=1,
                       help="worker processes (a Bytewax cluster on 127.0.0.1)")
        p.add_argument("--process-id", type=int, default=None, help=argparse.SUPPRESS)
        p.add_argument("--addresses", default="", help=argparse.SUPPRESS)
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
    from flows.runner import FlowSettings, recovery_config, run_flow

    if args.workers < 1 or args.processes < 1:
        print("chargeline flow: --workers and --processes must be at least 1", file=sys.stderr)
        return 2
    if args.process_id is None:  # the command a person typed, not a cluster member
        if not args.follow:
            _fresh_replay(args.data_dir)
        if args.processes > 1:
            recovery_config(args.data_dir)  # created once, before the members race for it
            return _cluster(args)
    settings = FlowSettings(args.data_dir, follow=args.follow, workers=args.workers,
                            addresses=tuple(a for a in args.addresses.split(",") if a),
                            process_id=args.process_id or 0,
                            stuck_after_s=args.stuck_after, offline_after_s=args.offline_after,
                            late_stop_s=args.late_stop,
                            snapshot_interval_s=args.snapshot_interval)
    run_flow(settings)
    return 0


def _cluster(args: argparse.Namespace) -> int:
    """Start ``--processes`` members on free local ports; wait for all; pass signals on."""
    addresses = ",".join(f"127.0.0.1:{free_port()}" for _ in range(args.processes))
    argv = ["flow" if args.follow else "replay", "--data-dir", str(args.data_dir),
            "--workers", str(args.workers), "--snapshot-interval", str(args.snapshot_interval)]
    for flag, value in (("--stuck-after", args.stuck_after),
                        ("--offline-after", args.offline_after),
                        ("--late-stop", args.late_stop)):
        argv += [flag, str(value)] if value is not None else []
    members = [subprocess.Popen([sys.executable, "-m", "chargeline", *argv,
                                 "--process-id", str(i), "--addresses", addresses])
               for i in range(args.processes)]

    def forward(signum: int, _frame: object) -> None:
        for member in members:
            if member.poll() is None:
                member.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    codes = [member.wait() for member in members]
    return max((abs(c) for c in codes), default=0)


def _fresh_replay(data_dir: Path) -> None:
    """A replay rebuilds: derived tables and recovery state go, the journal stays."""
    shutil.rmtree(data_dir / "recovery", ignore_errors=True)
    from warehouse.layout import warehouse_dir
    from warehouse.tables import TABLES

    for table in TABLES:
        shutil.rmtree(warehouse_dir(data_dir) / table, ignore_errors=True)
    print(f"chargeline replay: rebuilding {data_dir}", file=sys.stderr)
