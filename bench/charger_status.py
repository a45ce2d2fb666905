"""The charger list with a charger silent for 10 days (issue 15 #14): ``charger_status`` as it
is (from ``charger_last``) beside as it was (the last 2 days of raw ``charger_health``).

    python -m bench.charger_status [DIR] [--days 30] [--chargers 1000] [--batch-minutes 1440]

Writes ``--days`` days of health minutes for ``--chargers`` chargers through the real
``WarehouseWriter`` (which keeps ``charger_last``), one batch per ``--batch-minutes`` (1440:
one file a day, as ``chargeline compact`` leaves it; 10: the live flow's many small files
before compaction); charger 0 stops 10 days before the end. Then times the dashboards' charger
list (``dashboards.data.chargers``: the fleet clock, then the list; cache cleared each run),
p50 of 7 runs, with each view, and whether the silent charger is listed. Results in
bench/results/charger_status.json.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench._common import report
from canonical import ChargerHealth, schema_of
from warehouse.catalog import connect, ensure
from warehouse.layout import data_files, partitions
from warehouse.writer import WarehouseWriter

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
MIN_NS = 60_000_000_000
SILENT_DAYS = 10
OLD_VIEW = "4bf4dd8:warehouse/sql/marts/charger_status.sql"  # the 2-day view, last version
HEALTH_CLOCK = "select max(minute) from raw_charger_health"  # the fleet clock it went with


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dir", nargs="?", type=Path, default=Path("/tmp/chargeline-status"))
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--batch-minutes", type=int, default=1440)
    return p.parse_args(argv)


def health_batch(first: int, minutes: int, chargers: int, silent_from: int) -> pa.Table:
    """Every charger's minutes ``first`` .. ``first + minutes - 1``; charger 0 none from
    ``silent_from``."""
    minute = np.repeat(np.arange(first, first + minutes), chargers)
    cp = np.tile(np.arange(chargers), minutes)
    keep = ~((cp == 0) & (minute >= silent_from))
    minute, cp, n = minute[keep], cp[keep], int(keep.sum())
    ns = T0 + minute.astype(np.int64) * MIN_NS
    columns: dict[str, Any] = {
        "charge_point_id": pa.array(np.char.add("CP-", cp.astype(str))),
        "minute": ns, "online": np.ones(n, bool), "online_s": np.full(n, 60.0),
        "reconnects": np.zeros(n, np.int64), "heartbeats": np.ones(n, np.int64),
        "heartbeat_interval_s": np.full(n, 60.0), "response_time_ms": np.full(n, 120.0),
        "frames_in": np.full(n, 3, np.int64), "vendor": pa.array(["ABB"] * n),
        "model": pa.array(["Terra"] * n), "firmware_version": pa.array(["1.2.3"] * n),
        "drift_s": np.full(n, 0.5), "sessions_active": np.zeros(n, np.int64),
        "power_w": np.full(n, 7000.0), "updated_at": ns + MIN_NS + 5_000_000_000}
    schema = schema_of(ChargerHealth)
    return pa.table([pa.array(columns[f.name], f.type) for f in schema], schema=schema)


def build(args: argparse.Namespace) -> float:
    writer = WarehouseWriter(args.data_dir, durable=False)
    total, silent_from = args.days * 1440, (args.days - SILENT_DAYS) * 1440
    started = time.perf_counter()
    for first in range(0, total, args.batch_minutes):
        writer.write("charger_health", health_batch(first, min(args.batch_minutes, total - first),
                                                    args.chargers, silent_from))
    ensure(args.data_dir)
    return time.perf_counter() - started


def timed_list(data_dir: Path, view: str) -> tuple[float, bool]:
    """p50 seconds of the charger list on ``view`` (with the fleet clock of its time), and
    whether CP-0 (silent) is in it."""
    from dashboards import data

    sql = data._CHARGERS.replace("from charger_status as c", f"from {view} as c")
    con = connect(data_dir)
    if view != "charger_status":
        old = subprocess.run(["git", "show", OLD_VIEW], capture_output=True, text=True,
                             check=True).stdout
        con.execute(f"create temp view {view} as {old}")
    clock = data.FLEET_NOW if view == "charger_status" else HEALTH_CLOCK
    runs, listed = [], False
    for _ in range(7):
        started = time.perf_counter()
        now = con.execute(clock).fetchone()
        rows = con.execute(sql, [now[0] if now else None, "%"]).fetchall()
        runs.append(time.perf_counter() - started)
        listed = any(r[1] == "CP-0" for r in rows)
    con.close()
    return statistics.median(runs), listed


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    import shutil

    shutil.rmtree(args.data_dir, ignore_errors=True)
    build_s = build(args)
    files = {t: sum(len(data_files(p)) for p in partitions(args.data_dir, t))
             for t in ("charger_health", "charger_last")}
    before_s, before_listed = timed_list(args.data_dir, "charger_status_2_days")
    after_s, after_listed = timed_list(args.data_dir, "charger_status")
    result = {"days": args.days, "chargers": args.chargers, "batch_minutes": args.batch_minutes,
              "health_rows": args.days * 1440 * args.chargers - SILENT_DAYS * 1440,
              "files": files, "build_s": round(build_s, 1),
              "before": {"list_s": round(before_s, 3), "silent_charger_listed": before_listed},
              "after": {"list_s": round(after_s, 3), "silent_charger_listed": after_listed}}
    report(f"charger_status_{args.batch_minutes}min", result, [
        ("health rows / files", f"{result['health_rows']:,} / {files['charger_health']}"),
        ("charger_last files", files["charger_last"]),
        ("charger list before (2 days of health)", f"{before_s * 1000:.0f} ms, silent "
         f"charger listed: {before_listed}"),
        ("charger list after (charger_last)", f"{after_s * 1000:.0f} ms, silent charger "
         f"listed: {after_listed}")])


if __name__ == "__main__":
    main()
