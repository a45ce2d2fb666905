"""``chargeline flow`` (live, tailing the journal) and ``chargeline replay`` (all of it, then
exit): journal → adapters → sessions and detectors → warehouse.

One of them at a time per data dir (``chargeline.flowlock``: a second is refused, naming the
first's pid). A replay builds a new warehouse generation and recovery store beside the
current ones and swaps them in when it has finished (``chargeline.rebuild``): dashboards and
exports read the old tables, whole, until then.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from chargeline import flowlock, rebuild
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
        p.add_argument("--generation", default=None, help=argparse.SUPPRESS)
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
    if args.workers < 1 or args.processes < 1:
        print("chargeline flow: --workers and --processes must be at least 1", file=sys.stderr)
        return 2
    if args.process_id is not None:  # a cluster member: the command that started it holds
        staged = rebuild.staged(args.data_dir, args.generation) if args.generation else None
        return _run_here(args, staged)  # the lock and prepared what it writes into
    command = "flow" if args.follow else "replay"
    with flowlock.hold(args.data_dir, command):
        if args.follow:
            rebuild.settle(args.data_dir)
            return _start(args, None)
        return _replay(args)


def _replay(args: argparse.Namespace) -> int:
    """Build a new generation from the whole journal; make it current only if that worked."""
    staged = rebuild.begin(args.data_dir)
    print(f"chargeline replay: rebuilding {args.data_dir} into warehouse/{staged.name}",
          file=sys.stderr)
    try:
        code = _start(args, staged)
    except BaseException:
        rebuild.abandon(args.data_dir, staged)
        raise
    if code != 0:
        rebuild.abandon(args.data_dir, staged)
        return code
    rebuild.finish(args.data_dir, staged)
    print(f"chargeline replay: warehouse/{staged.name} is current", file=sys.stderr)
    return 0


def _start(args: argparse.Namespace, staged: rebuild.Rebuild | None) -> int:
    if args.processes > 1:
        from chargeline.flowrun import recovery_config

        # created once, before the members race for it
        recovery_config(args.data_dir, staged.recovery if staged else None)
        return _cluster(args, staged)
    return _run_here(args, staged)


def _run_here(args: argparse.Namespace, staged: rebuild.Rebuild | None) -> int:
    from chargeline.flowrun import FlowSettings, run_flow

    settings = FlowSettings(args.data_dir, follow=args.follow, workers=args.workers,
                            addresses=tuple(a for a in args.addresses.split(",") if a),
                            process_id=args.process_id or 0,
                            stuck_after_s=args.stuck_after, offline_after_s=args.offline_after,
                            late_stop_s=args.late_stop,
                            snapshot_interval_s=args.snapshot_interval,
                            tables_root=staged.generation if staged else None,
                            recovery_dir=staged.recovery if staged else None)
    run_flow(settings)
    return 0


def _cluster(args: argparse.Namespace, staged: rebuild.Rebuild | None) -> int:
    """Start ``--processes`` members on free local ports; wait for all; pass signals on."""
    addresses = ",".join(f"127.0.0.1:{free_port()}" for _ in range(args.processes))
    argv = ["flow" if args.follow else "replay", "--data-dir", str(args.data_dir),
            "--workers", str(args.workers), "--snapshot-interval", str(args.snapshot_interval)]
    argv += ["--generation", staged.name] if staged else []
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
