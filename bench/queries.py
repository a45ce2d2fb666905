"""Dashboard queries and page opens on the big warehouse (#6, #7; built first if missing, see
bigwarehouse.py): each loader of dashboards/data.py called directly with its 2 s cache
cleared before every call, p50/p95 ms over several runs, beside baselines in the same run (a
plain Parquet ``count(*)`` and ``count(*)`` of the sessions view); then each page's first run
through the real entry with Streamlit's AppTest (as tests/dashboards/test_pages.py drives them).

    python -m bench.queries [DIR] [--runs 7]
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from bench._common import percentile, report
from bench.bigwarehouse import DEFAULT_DIR, ensure_built
from warehouse import catalog

APP = Path(__file__).parents[1] / "dashboards" / "app.py"
BUDGET_S = 10.0  # per query: stop repeating once a query has used this much (a slow one runs once)


def queries(cp: str, session_id: str) -> dict[str, Callable[[], pd.DataFrame]]:
    from dashboards import data

    return {
        "baseline: parquet count(*) frames": lambda: data.load(
            "select count(*) as n from raw_frames"),
        "baseline: count(*) sessions view": lambda: data.load(
            "select count(*) as n from sessions"),
        "fleet health now": data.fleet_summary,
        "fleet trend (4 h)": data.fleet_trend,
        "charger list": data.chargers,
        "sessions of one charger": lambda: data.sessions(cp=cp),
        "sessions, all (newest 2000)": data.sessions,
        "one session": lambda: data.session(session_id),
        "one session's meter samples": lambda: data.session_samples(session_id),
        "one session's timeline": lambda: data.timeline(session_id),
        "alerts by kind": lambda: data.alerts(kind="meter_mismatch"),
        "alerts per hour by kind": data.alerts_per_hour,
        "finance period totals": lambda: data.billable_by("period"),
        "finance holds": data.holds,
        "charger health 24 h": lambda: data.charger_health(cp),
        "charger connectors": lambda: data.connectors(cp),
        "charger connections": lambda: data.connections(cp),
        "charger offline spans": lambda: data.offline_spans(cp),
        "firmware": data.firmware,
        "firmware updates": data.firmware_updates,
    }


def time_queries(runs: int, cp: str, session_id: str) -> dict[str, dict[str, Any]]:
    from dashboards import data

    out = {}
    for name, fn in queries(cp, session_id).items():
        times: list[float] = []
        rows = 0
        while len(times) < runs and sum(times) < BUDGET_S:
            data._load.clear()
            t0 = time.perf_counter()
            rows = len(fn())
            times.append(time.perf_counter() - t0)
        out[name] = {"p50_ms": round(percentile(times, 0.5) * 1000, 1),
                     "p95_ms": round(percentile(times, 0.95) * 1000, 1),
                     "runs": len(times), "rows": rows}
        print(f"  {name}: {out[name]}", flush=True)
    return out


def open_page(name: str, **params: str) -> float:
    """Seconds for the page's first run (after the entry's), caches cleared."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    st.cache_data.clear()  # the entry's run drew the default page: its loaders are cached
    t0 = time.perf_counter()
    at.switch_page(f"app_pages/{name}.py").run()
    elapsed = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"page {name} failed: {[e.value for e in at.exception]}")
    return elapsed


def time_pages(cp: str, session_id: str) -> dict[str, float]:
    pages: list[tuple[str, str, dict[str, str]]] = [
        ("fleet", "fleet", {}), ("chargers", "chargers", {}),
        ("one charger", "chargers", {"charger": cp}), ("sessions", "sessions", {}),
        ("one session", "sessions", {"session": session_id}), ("alerts", "alerts", {}),
        ("reconciliation", "reconciliation", {}), ("firmware", "firmware", {})]
    out = {}
    for label, page, params in pages:
        out[label] = round(open_page(page, **params), 3)
        print(f"  page {label}: {out[label]} s", flush=True)
    return out


def pick_session(cp: str) -> str:
    """A completed session of ``cp`` from the middle of the month."""
    from dashboards import data

    rows = data.load("select session_id from sessions where charge_point_id = ? and "
                     "status = 'completed' order by started_at limit 1 offset 60", (cp,))
    return str(rows.iloc[0]["session_id"])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args()
    built = ensure_built(args.data_dir)
    catalog.ensure(args.data_dir)  # the views and macros of this checkout's SQL
    os.environ["CHARGELINE_DATA_DIR"] = str(args.data_dir.resolve())
    os.environ.pop("CHARGELINE_DASHBOARD_PASSWORD", None)
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    cp = "CP0042"
    session_id = pick_session(cp)
    t0 = time.perf_counter()
    timings = time_queries(args.runs, cp, session_id)
    pages = time_pages(cp, session_id)
    report("queries", {
        "data_dir": str(args.data_dir), "warehouse": built["params"], "rows": built["rows"],
        "charger": cp, "session_id": session_id, "queries_ms": timings,
        "page_open_s": pages, "elapsed_s": round(time.perf_counter() - t0, 1)},
        [*((q, f"p50 {t['p50_ms']} ms  p95 {t['p95_ms']} ms  ({t['rows']} rows)")
           for q, t in timings.items()),
         *((f"page {k}", f"{v:.2f} s") for k, v in pages.items())])


if __name__ == "__main__":
    main()
