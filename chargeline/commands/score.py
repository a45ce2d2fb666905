"""``chargeline score``: what the pipeline found against the simulator's truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import orjson


def register(sub: Any) -> None:
    p = sub.add_parser("score", help="precision/recall per detector and energy error vs truth")
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
    report = score(truth, sessions, alerts, args.window)
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
          f"energy error {report['energy_error_wh']} Wh ({report['energy_error_pct']} %)")
    return 0


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:g}"
