"""``chargeline score``: what the pipeline found against the simulator's truth: detectors,
sessions and energy, and billing (sessions held from ``finance_sessions``) overall, per
client profile and per fault."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import orjson


def register(sub: Any) -> None:
    p = sub.add_parser("score", help="precision/recall per detector, energy error and "
                                     "billing holds vs truth")
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--truth", type=Path, required=True)
    p.add_argument("--window", type=float, default=7200.0, help="match window, seconds")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.score import score
    from warehouse.catalog import connect

    truth = [orjson.loads(line) for line in args.truth.read_bytes().splitlines() if line]
    with connect(args.data_dir) as db:
        sessions = _rows(db.execute("select charge_point_id, transaction_id, energy_wh "
                                    "from sessions"))
        alerts = _rows(db.execute("select kind, charge_point_id, detected_at from alerts"))
        finance = _rows(db.execute("select charge_point_id, transaction_id, billable "
                                   "from finance_unpriced"))
    report = score(truth, sessions, alerts, args.window, finance)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{'detector':<24}{'precision':>10}{'recall':>8}{'p50 s':>8}{'p95 s':>8}"
          f"{'faults':>8}{'alerts':>8}")
    for kind, d in report["detectors"].items():
        print(f"{kind:<24}{_f(d['precision']):>10}{_f(d['recall']):>8}{_f(d['delay_s_p50']):>8}"
              f"{_f(d['delay_s_p95']):>8}{d['faults']:>8}{d['alerts']:>8}")
    s = report["sessions"]
    print(f"sessions expected {s['expected']} found {s['found']} matched {s['matched']}; "
          f"energy error {report['energy_error_wh']} Wh ({report['energy_error_pct']} %)\n")
    print(billing_table(report["billing"]))
    return 0


def billing_table(billing: dict[str, Any]) -> str:
    """Billing per group, one line each: overall, clean, per profile, per fault, per OCPP
    version."""
    rows = [("all", billing["all"]), ("clean (no fault)", billing["clean"]),
            ("no profile, no fault", billing["no_profile"])]
    rows += [(f"profile {name}", g) for name, g in billing["profiles"].items()]
    rows += [(f"fault {name}", g) for name, g in billing["faults"].items()]
    rows += [(f"protocol {name}", g) for name, g in billing.get("protocols", {}).items()]
    lines = [f"{'billing group':<38}{'expected':>9}{'matched':>8}{'energy %':>10}"
             f"{'finished':>9}{'held':>6}{'held %':>8}{'twice':>6}"]
    for name, g in rows:
        share = None if g["held_share"] is None else 100 * g["held_share"]
        lines.append(f"{name:<38}{g['expected']:>9}{g['matched']:>8}"
                     f"{_f(g['energy_error_pct']):>10}{g['finished']:>9}{g['held']:>6}"
                     f"{_f(share):>8}{g['billed_twice']:>6}")
    return "\n".join(lines)


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:g}"
