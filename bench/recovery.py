"""Stuck-session recovery on a simulated fleet: ``chargeline serve --recovery act`` (the agent)
+ live ``chargeline flow --recovery act`` (the decisions) + ``chargeline simulate`` with the
faults ``stuck_session`` (offline for good), ``lost_transaction`` (rebooted, forgot it) and
``silent_session`` (quiet a while, then stops normally), on a fresh data dir; then the final
sessions against the truth file.

Outcomes, per truth session: ``closed`` (flag ``closed_by_recovery``), ``recovered`` (flag
``recovered_from_stuck``, not closed), ``stuck`` (still), ``revised`` (a recovery decision
later undone by the charger's evidence); ``false_closes``: closed by recovery although the
truth says it continued or stopped normally (any fault but ``lost_transaction`` and
``stuck_session``, or none) — must be 0. Energy of the closed sessions against the truth's.
Waits scale with the fleet's speed as in ``bench.detection`` (the offline close too).

    python -m bench.recovery [--chargers 60] [--speed 240] [--duration 480] [--seed 5]
                             [--close-after S] [--tail S]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from bench._common import free_port, report, wait_port
from bench.detection import chargeline, thresholds
from canonical.enums import SessionFlag
from warehouse.catalog import connect, query

FAULTS = "stuck_session,lost_transaction,silent_session"
SHOULD_CLOSE = frozenset({"lost_transaction", "stuck_session"})


def truth_sessions(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Sessions by (charger, transaction id); a ``stuck_session`` (the charger went away for
    good) has no session row, only its fault row: energy unknown."""
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    out = {(r["charge_point_id"], str(r["transaction_id"])): {
        "fault": r["fault"], "energy_wh": None} for r in rows
        if r["type"] == "fault" and r["fault"] == "stuck_session" and r["transaction_id"]}
    out |= {(r["charge_point_id"], str(r["transaction_id"])): r for r in rows
            if r["type"] == "session"}
    return out


def found_sessions(data: Path) -> list[dict[str, Any]]:
    con = connect(data)
    try:
        return query(con, data, "select charge_point_id, transaction_id, status, flags, "
                                "energy_wh, energy_rule from sessions").to_pylist()
    finally:
        con.close()


def outcome(session: dict[str, Any]) -> str:
    flags = set(session["flags"])
    if SessionFlag.closed_by_recovery in flags:
        return "closed"
    if session["status"] == "stuck":
        return "stuck"
    if SessionFlag.recovery_revised in flags:
        return "revised"
    return "recovered" if SessionFlag.recovered_from_stuck in flags else "untouched"


def tally(truth: dict[tuple[str, str], dict[str, Any]],
          found: list[dict[str, Any]]) -> dict[str, Any]:
    """Outcomes per truth fault, false closes, and the closed sessions' energy error."""
    per_fault: dict[str, Counter[str]] = {}
    false_closes, error_wh, closed_wh = [], 0.0, 0.0
    for s in found:
        t = truth.get((s["charge_point_id"], str(s["transaction_id"])))
        fault = (t or {}).get("fault") or ("none" if t else "not_in_truth")
        what = outcome(s)
        per_fault.setdefault(fault, Counter())[what] += 1
        if what == "closed" and fault not in SHOULD_CLOSE:
            false_closes.append(f"{s['charge_point_id']}:{s['transaction_id']} ({fault})")
        if what == "closed" and t is not None and t["energy_wh"] is not None:
            closed_wh += float(t["energy_wh"])
            error_wh += float(s["energy_wh"] or 0.0) - float(t["energy_wh"])
    totals = Counter[str]()
    for counts in per_fault.values():
        totals.update(counts)
    return {"outcomes": dict(totals), "per_fault": {k: dict(v) for k, v in per_fault.items()},
            "false_closes": len(false_closes), "false_close_ids": false_closes[:20],
            "closed_energy_error_wh": round(error_wh, 3),
            "closed_energy_true_wh": round(closed_wh, 3)}


def run_fleet(args: argparse.Namespace, data: Path) -> float:
    port = free_port()
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    serve = chargeline("serve", "--data-dir", str(data), "--port", str(port), "--recovery",
                       "act", "--recovery-poll", str(args.poll), **quiet)
    flow = None
    try:
        wait_port(port)
        flow = chargeline("flow", "--data-dir", str(data), *thresholds(args.speed),
                          "--recovery", "act", "--recovery-close-after",
                          f"{args.close_after:g}", **quiet)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "chargeline", "simulate",
                        "--url", f"ws://127.0.0.1:{port}/ocpp", "--chargers", str(args.chargers),
                        "--speed", str(args.speed), "--duration", str(args.duration),
                        "--seed", str(args.seed), "--faults", FAULTS,
                        "--truth", str(data / "truth.jsonl")], check=True)
        fleet_s = time.monotonic() - t0
        time.sleep(args.tail)  # the flow's last ticks, the offline timers
    finally:
        for proc in (flow, serve):
            if proc is not None:
                proc.terminate()
                proc.wait(30)
    return fleet_s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chargers", type=int, default=60)
    ap.add_argument("--speed", type=float, default=240.0)
    ap.add_argument("--duration", type=float, default=480.0, help="wall seconds of sessions")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--poll", type=float, default=2.0, help="the agent's poll, wall s")
    ap.add_argument("--close-after", type=float, default=None,
                    help="the flow's --recovery-close-after, wall s (default: 86,400 s scaled "
                         "by --speed, at least 60)")
    ap.add_argument("--tail", type=float, default=20.0,
                    help="wall s the flow runs on after the fleet (offline closes come due)")
    ap.add_argument("--keep", type=Path, default=None, help="data dir to keep (else a temp)")
    args = ap.parse_args()
    if args.close_after is None:
        args.close_after = max(60.0, 86_400 / args.speed)
    data = args.keep or Path(tempfile.mkdtemp(prefix="chargeline-recovery-"))
    data.mkdir(parents=True, exist_ok=True)
    fleet_s = run_fleet(args, data)
    result = tally(truth_sessions(data / "truth.jsonl"), found_sessions(data))
    table = [(k, v) for k, v in result["outcomes"].items()]
    table += [(f"fault {k}", v) for k, v in result["per_fault"].items()]
    table += [("false closes", result["false_closes"]),
              ("closed: energy error", f"{result['closed_energy_error_wh']} Wh of "
                                       f"{result['closed_energy_true_wh']} Wh")]
    report("recovery", {"chargers": args.chargers, "speed": args.speed,
                        "duration_s": args.duration, "seed": args.seed, "faults": FAULTS,
                        "close_after_s": args.close_after, "tail_s": args.tail,
                        "fleet_wall_s": round(fleet_s, 1),
                        "simulated_hours": round(args.duration * args.speed / 3600, 1),
                        **result}, table)
    if args.keep is None:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
