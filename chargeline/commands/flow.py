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
import time
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
        p.add_argument("--stuck-after", type=float, default=None, metavar="S",
                       help="seconds of silence before a session is stuck (default 1800)")
        p.add_argument("--offline-after", type=float, default=None, metavar="S",
                       help="seconds disconnected before charger_offline (default 300)")
        p.add_argument("--late-stop", type=float, default=None, metavar="S",
                       help="seconds after its own time a Stop counts as late (default 900)")
        p.add_argument("--recovery", choices=["off", "observe", "act"], default=None,
                       help="stuck-session recovery decisions: act closes on the charger's "
                            "evidence, observe flags what it would close (default), off none")
        p.add_argument("--recovery-close-after", type=float, default=None, metavar="S",
                       help="seconds a stuck session's charger may stay offline before the "
                            "session is closed at its last reading (default 86400)")
        p.add_argument("--journal", default=None, metavar="kafka://HOST:PORT[,...]/TOPIC",
                       help="read the journal from a Kafka topic (flow only; docs/scale.md)")
        p.add_argument("--snapshot-interval", type=float, default=None, metavar="S",
                       help="seconds between recovery snapshots (default 2; a replay "
                            "snapshots once, at its end)")
        p.add_argument("--metrics-port", type=int, default=None, metavar="P",
                       help="serve Prometheus /metrics on port P (process i of --processes "
                            "on P+i; 0: any free port); off by default (docs/metrics.md)")
        p.add_argument("--metrics-host", default="127.0.0.1",
                       help="address the /metrics server listens on")
        p.set_defaults(func=run, follow=name == "flow")


def run(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.processes < 1:
        print("chargeline flow: --workers and --processes must be at least 1", file=sys.stderr)
        return 2
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65536 - args.processes:
        print(f"chargeline flow: --metrics-port must be 0..{65536 - args.processes} (process "
              f"i serves on P+i), got {args.metrics_port}", file=sys.stderr)
        return 2
    if args.journal and not args.follow:
        print("chargeline replay: a Kafka journal is followed live; to rebuild, run "
              "`chargeline flow --journal ...` with a new --data-dir", file=sys.stderr)
        return 2
    if args.process_id is not None:
        return _member(args)
    command = "flow" if args.follow else "replay"
    with flowlock.hold(args.data_dir, command):
        # Members start first, so that their imports (~0.8 s) overlap the set-up below.
        cluster = _Cluster(args) if args.processes > 1 else None
        try:
            if args.follow:
                rebuild.settle(args.data_dir)
                return _start(args, None, cluster)
            return _replay(args, cluster)
        finally:
            if cluster is not None:
                cluster.cancel()


def _replay(args: argparse.Namespace, cluster: _Cluster | None) -> int:
    """Build a new generation from the whole journal; make it current only if that worked."""
    staged = rebuild.begin(args.data_dir)
    print(f"chargeline replay: rebuilding {args.data_dir} into warehouse/{staged.name}",
          file=sys.stderr)
    try:
        code = _start(args, staged, cluster)
    except BaseException:
        rebuild.abandon(args.data_dir, staged)
        raise
    if code != 0:
        rebuild.abandon(args.data_dir, staged)
        return code
    rebuild.finish(args.data_dir, staged)
    print(f"chargeline replay: warehouse/{staged.name} is current", file=sys.stderr)
    return 0


def _start(args: argparse.Namespace, staged: rebuild.Rebuild | None,
           cluster: _Cluster | None) -> int:
    if cluster is not None:
        from chargeline.flowrun import recovery_config

        # created once, before the members race for it
        recovery_config(args.data_dir, staged.recovery if staged else None,
                        args.processes * args.workers)
        return cluster.run(staged)
    return _run_here(args, staged)


def _member(args: argparse.Namespace) -> int:
    """A cluster member. The command that started it holds the lock and prepares what it
    writes into; the member imports the flow meanwhile, then waits for the command's
    ``go`` line on stdin, naming the generation a replay builds. Without it (the command
    stopped first), it exits."""
    import chargeline.flowrun  # noqa: F401  (the slow part of starting, done while waiting)

    go = sys.stdin.readline().split()
    if go[:1] != ["go"]:
        return 2
    return _run_here(args, rebuild.staged(args.data_dir, go[1]) if len(go) > 1 else None)


def _run_here(args: argparse.Namespace, staged: rebuild.Rebuild | None) -> int:
    from canonical.enums import RecoveryPolicy
    from chargeline.flowrun import FlowSettings, run_flow

    settings = FlowSettings(args.data_dir, follow=args.follow, workers=args.workers,
                            addresses=tuple(a for a in args.addresses.split(",") if a),
                            process_id=args.process_id or 0,
                            stuck_after_s=args.stuck_after, offline_after_s=args.offline_after,
                            late_stop_s=args.late_stop,
                            recovery=RecoveryPolicy(args.recovery) if args.recovery else None,
                            recovery_close_after_s=args.recovery_close_after,
                            snapshot_interval_s=args.snapshot_interval,
                            tables_root=staged.generation if staged else None,
                            recovery_dir=staged.recovery if staged else None,
                            journal=args.journal, metrics_port=args.metrics_port,
                            metrics_host=args.metrics_host)
    run_flow(settings)
    return 0


class _Cluster:
    """``--processes`` members on free local ports, started at once and waiting for their
    ``go`` (``_member``); ``run`` gives it, passes signals on and waits for all."""

    def __init__(self, args: argparse.Namespace) -> None:
        addresses = ",".join(f"127.0.0.1:{free_port()}" for _ in range(args.processes))
        argv = ["flow" if args.follow else "replay", "--data-dir", str(args.data_dir),
                "--workers", str(args.workers)]
        argv += ["--journal", args.journal] if args.journal else []
        for flag, value in (("--metrics-port", args.metrics_port),
                            ("--metrics-host", args.metrics_host if args.metrics_port is not None
                             else None),
                            ("--snapshot-interval", args.snapshot_interval),
                            ("--stuck-after", args.stuck_after),
                            ("--offline-after", args.offline_after),
                            ("--late-stop", args.late_stop), ("--recovery", args.recovery),
                            ("--recovery-close-after", args.recovery_close_after)):
            argv += [flag, str(value)] if value is not None else []
        self.members = [subprocess.Popen([sys.executable, "-m", "chargeline", *argv,
                                          "--process-id", str(i), "--addresses", addresses],
                                         stdin=subprocess.PIPE)
                        for i in range(args.processes)]

    def run(self, staged: rebuild.Rebuild | None) -> int:
        def forward(signum: int, _frame: object) -> None:
            for member in self.members:
                if member.poll() is None:
                    member.send_signal(signum)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        self._tell(f"go {staged.name}\n" if staged else "go\n")
        return _wait_for_members(self.members)

    def cancel(self) -> None:
        """Members not told to go yet (the set-up failed) are told to stop, and waited for."""
        self._tell("")
        for member in self.members:
            member.wait()

    def _tell(self, line: str) -> None:
        for member in self.members:
            if member.stdin is not None and not member.stdin.closed:
                try:
                    member.stdin.write(line.encode())
                    member.stdin.close()
                except BrokenPipeError:  # it died: _wait_for_members sees it
                    pass


def _wait_for_members(members: list[subprocess.Popen[bytes]], grace_s: float = 5.0) -> int:
    """Exit codes of all members. One that dies (kill -9, a crash) leaves the others waiting
    for it forever (Bytewax has no way back for a lost peer): they are stopped too (SIGTERM,
    then SIGKILL after ``grace_s``), so this command exits and can be started again; the
    cluster resumes from its last snapshot (measured: 15 s to notice without this)."""
    while None in (codes := [m.poll() for m in members]):  # every one polled: reaped
        if any(code not in (None, 0) for code in codes):
            for member in members:
                if member.poll() is None:
                    member.terminate()
            deadline = time.monotonic() + grace_s
            while time.monotonic() < deadline and any(m.poll() is None for m in members):
                time.sleep(0.05)
            for member in members:
                if member.poll() is None:
                    member.kill()
            break
        time.sleep(0.1)
    exits = [member.wait() for member in members]
    return max((abs(c) for c in exits), default=0)
