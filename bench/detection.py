"""Detector quality on a simulated day: ``chargeline serve`` + live ``chargeline flow`` +
``chargeline simulate`` (every fault, every client profile by default) on a fresh data dir,
then ``chargeline score``.

Not part of ``make bench`` (a simulated day takes ~12 minutes of wall time at the defaults);
its result is the figure of issues #5 and #14: precision, recall and delay per detector,
sessions matched, billed energy error, and billing per group (overall, per client profile,
per fault): sessions expected/matched, energy error, share held. Detector waits are scaled to
the fleet's speed the way ``chargeline run --demo`` scales them, so the delays printed are
wall seconds at that speed. ``--faults none`` runs the profiles alone: every alert is then a
false alarm and every held session a wrong hold.

    python -m bench.detection [--chargers 500] [--speed 240] [--duration 360] [--seed 11]
                              [--faults all|none|LIST] [--profiles all|none|LIST]
                              [--vendors all|LIST]   (all: a 1.6 + 2.0.1 + 2.1 fleet)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import free_port, report, wait_port


def thresholds(speed: float) -> list[str]:
    """The same scaling as ``chargeline run --demo``."""
    return ["--stuck-after", f"{max(30.0, 1800 / speed):g}",
            "--offline-after", f"{max(10.0, 300 / speed):g}",
            "--late-stop", f"{max(10.0, 900 / speed):g}"]


def billing_rows(billing: dict[str, Any]) -> list[tuple[str, str]]:
    """One line per billing group: all, clean, each profile, each fault."""
    groups = [("billing: all", billing["all"]), ("billing: clean", billing["clean"]),
              ("billing: no profile", billing["no_profile"])]
    groups += [(f"profile {name}", g) for name, g in billing["profiles"].items()]
    groups += [(f"fault {name}", g) for name, g in billing["faults"].items()]
    groups += [(f"protocol {name}", g) for name, g in billing.get("protocols", {}).items()]
    return [(name, f"{g['matched']}/{g['expected']} matched, energy {g['energy_error_pct']} %, "
                   f"held {g['held']}/{g['finished']} ({g['held_share']}), "
                   f"billed twice {g['billed_twice']}") for name, g in groups]


def chargeline(*args: str, **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "chargeline", *args], **kw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chargers", type=int, default=500)
    ap.add_argument("--speed", type=float, default=240.0)
    ap.add_argument("--duration", type=float, default=360.0, help="wall seconds of sessions")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--faults", default="all", help="all, none, or a comma list of faults")
    ap.add_argument("--profiles", default="all",
                    help="client profiles: all, none, or a comma list")
    ap.add_argument("--vendors", default=None,
                    help="a comma list of vendors, or all (1.6, 2.0.1 and 2.1 stations); "
                         "default: sim.plan.VENDORS")
    ap.add_argument("--keep", type=Path, default=None, help="data dir to keep (else a temp)")
    ap.add_argument("--result", default="detection",
                    help="name of the result file under bench/results")
    args = ap.parse_args()
    data = args.keep or Path(tempfile.mkdtemp(prefix="chargeline-detection-"))
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    serve = chargeline("serve", "--data-dir", str(data), "--port", str(port),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    flow = None
    try:
        wait_port(port)
        flow = chargeline("flow", "--data-dir", str(data), *thresholds(args.speed),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "chargeline", "simulate",
                        "--url", f"ws://127.0.0.1:{port}/ocpp", "--chargers", str(args.chargers),
                        "--speed", str(args.speed), "--duration", str(args.duration),
                        "--seed", str(args.seed), "--faults", args.faults,
                        "--profiles", args.profiles,
                        *(["--vendors", args.vendors] if args.vendors else []),
                        "--truth", str(data / "truth.jsonl")], check=True)
        fleet_s = time.monotonic() - t0
        time.sleep(15)  # the flow's last ticks
    finally:
        for proc in (flow, serve):
            if proc is not None:
                proc.terminate()
                proc.wait(30)
    scored = subprocess.run([sys.executable, "-m", "chargeline", "score", "--data-dir",
                             str(data), "--truth", str(data / "truth.jsonl"), "--json"],
                            check=True, capture_output=True)
    result = json.loads(scored.stdout)
    detectors = result["detectors"]
    table = [(kind, f"P {d['precision']} R {d['recall']} delay p50 {d['delay_s_p50']} s "
                    f"p95 {d['delay_s_p95']} s ({d['faults']} faults, {d['alerts']} alerts)")
             for kind, d in detectors.items()]
    table += [("sessions", result["sessions"]),
              ("energy error", f"{result['energy_error_wh']} Wh "
                               f"({result['energy_error_pct']} %)")]
    table += billing_rows(result["billing"])
    report(args.result, {"chargers": args.chargers, "speed": args.speed,
                         "duration_s": args.duration, "seed": args.seed,
                         "faults": args.faults, "profiles": args.profiles,
                         "vendors": args.vendors or "default",
                         "fleet_wall_s": round(fleet_s, 1),
                         "simulated_hours": round(args.duration * args.speed / 3600, 1),
                         **result}, table)
    if args.keep is None:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
