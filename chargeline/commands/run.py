"""``chargeline run``: ingest, flow and dashboard together (plus a simulated fleet with
``--demo``), one process per role, stopped together on Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="start ingest + flow + dashboard (+ a demo fleet)")
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9000, help="OCPP endpoint port")
    p.add_argument("--dashboard-port", type=int, default=8501)
    p.add_argument("--demo", action="store_true", help="also run a simulated fleet")
    p.add_argument("--chargers", type=int, default=60, help="demo fleet size")
    p.add_argument("--speed", type=float, default=30.0, help="demo time compression")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--duration", type=float, default=86_400.0,
                   help="demo length in wall seconds")
    p.add_argument("--recovery", choices=["off", "observe", "act"], default="observe",
                   help="stuck-session recovery, for both the agent (serve) and the "
                        "decisions (flow): docs/recovery.md")
    p.add_argument("--flow-metrics-port", type=int, default=None, metavar="P",
                   help="the flow's Prometheus /metrics on this port (serve's is on its "
                        "OCPP port); off by default")
    p.add_argument("--api-port", type=int, default=None, metavar="P",
                   help="also serve the read-only driver API on this port (clients: "
                        "chargeline api clients add NAME); off by default")
    p.set_defaults(func=run)


def roles(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each role's process."""
    data = str(args.data_dir)
    cmd = [sys.executable, "-m", "chargeline"]
    out = {
        "ingest": [*cmd, "serve", "--data-dir", data, "--host", args.host,
                   "--port", str(args.port), "--recovery", args.recovery],
        "flow": [*cmd, "flow", "--data-dir", data, "--recovery", args.recovery,
                 *_thresholds(args)],
        "dashboard": [*cmd, "dashboard", "--data-dir", data, "--port", str(args.dashboard_port)],
    }
    if args.flow_metrics_port is not None:
        out["flow"] += ["--metrics-port", str(args.flow_metrics_port)]
    if args.api_port is not None:
        out["api"] = [*cmd, "api", "--data-dir", data, "--port", str(args.api_port)]
    if args.demo:
        out["fleet"] = [*cmd, "simulate", "--url", f"ws://127.0.0.1:{args.port}/ocpp",
                        "--chargers", str(args.chargers), "--duration", str(args.duration),
                        "--speed", str(args.speed), "--seed", str(args.seed), "--faults", "all",
                        "--truth", str(args.data_dir / "demo-truth.jsonl")]
    return out


def _thresholds(args: argparse.Namespace) -> list[str]:
    """A demo fleet lives ``--speed`` times faster: detector waits shrink with it."""
    if not args.demo:
        return []
    return ["--stuck-after", f"{max(30.0, 1800 / args.speed):g}",
            "--offline-after", f"{max(10.0, 300 / args.speed):g}",
            "--late-stop", f"{max(10.0, 900 / args.speed):g}",
            "--recovery-close-after", f"{max(60.0, 86_400 / args.speed):g}"]


def run(args: argparse.Namespace) -> int:
    args.data_dir.mkdir(parents=True, exist_ok=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for name, argv in roles(args).items():
            if name == "fleet":
                time.sleep(2.0)  # let ingest listen first
            procs[name] = subprocess.Popen(argv, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        print(f"chargeline run: chargers -> ws://{args.host}:{args.port}/ocpp/<id>\n"
              f"chargeline run: dashboard -> http://127.0.0.1:{args.dashboard_port}/\n"
              f"chargeline run: SQL -> chargeline sql --data-dir {args.data_dir}\n"
              f"chargeline run: metrics -> http://{args.host}:{args.port}/metrics"
              + (f", http://127.0.0.1:{args.flow_metrics_port}/metrics (flow)"
                 if args.flow_metrics_port is not None else "") + "\n"
              + (f"chargeline run: driver API -> http://127.0.0.1:{args.api_port}/v1\n"
                 if args.api_port is not None else "")
              + "chargeline run: Ctrl-C stops everything", file=sys.stderr, flush=True)
        return supervise(procs, lambda: stopping)
    finally:
        shutdown(procs)


def supervise(procs: dict[str, subprocess.Popen[bytes]], stopping: Any) -> int:
    """Wait until asked to stop (0) or until a long-running role dies (1)."""
    while not stopping():
        for name, proc in procs.items():
            code = proc.poll()
            if code is not None and name != "fleet":
                print(f"chargeline run: {name} exited with {code}; stopping", file=sys.stderr)
                return 1
        time.sleep(0.2)
    return 0


def shutdown(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every role (fleet first, ingest last), then SIGKILL what lingers."""
    order = [n for n in ("fleet", "api", "dashboard", "flow", "ingest") if n in procs]
    for name in order:
        if procs[name].poll() is None:
            procs[name].terminate()
            try:
                procs[name].wait(15)
            except subprocess.TimeoutExpired:
                procs[name].kill()
                procs[name].wait()
