"""A big warehouse for the scale figures (#6, #7): 30 simulated days of 1,000 chargers, written
through the real ``WarehouseWriter`` in Arrow batches (one batch per table per simulated day,
sorted by charger then time as ``chargeline compact`` leaves a partition), built with numpy and
pyarrow column operations — no websocket, no per-row Python. Deterministic by seed; cached: a
directory holding a finished build with the same parameters is reused.

    python -m bench.bigwarehouse [DIR] [--days 30] [--chargers 1000] [--frame-chargers N]
                                 [--seed 7] [--rebuild]

Reports rows/s written per table (time inside ``WarehouseWriter.write`` only; generating the
rows is timed apart) and Parquet bytes per frame, to bench/results/bigwarehouse.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from bench._bigfleet import (
    alerts_table,
    health_table,
    make_day,
    make_fleet,
    plan_sessions,
    sessions_table,
)
from bench._bigframes import journal
from bench._common import report
from warehouse.catalog import ensure
from warehouse.layout import table_dir
from warehouse.tables import TABLES
from warehouse.writer import WarehouseWriter

DEFAULT_DIR = Path("/tmp/chargeline-big")
MARKER = "bigwarehouse.json"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--frame-chargers", type=int, default=None,
                   help="only chargers below this index get frames and events (default all)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rebuild", action="store_true")
    return p.parse_args(argv)


def params_of(args: argparse.Namespace) -> dict[str, int]:
    frame_chargers = args.chargers if args.frame_chargers is None else args.frame_chargers
    return {"seed": args.seed, "days": args.days, "chargers": args.chargers,
            "frame_chargers": min(frame_chargers, args.chargers)}


def cached(data_dir: Path, params: dict[str, int]) -> dict[str, Any] | None:
    """The figures of a finished build with these parameters, or None."""
    marker = data_dir / MARKER
    if not marker.exists():
        return None
    built: dict[str, Any] = json.loads(marker.read_text())
    return built if built.get("params") == params else None


def build(data_dir: Path, params: dict[str, int]) -> dict[str, Any]:
    """Write the whole warehouse (replacing ``data_dir``); the figures, also saved in it."""
    shutil.rmtree(data_dir, ignore_errors=True)
    writer = WarehouseWriter(data_dir)
    fleet = make_fleet(params["seed"], params["days"], params["chargers"])
    plan = plan_sessions(fleet)
    rows = dict.fromkeys(TABLES, 0)
    write_s = dict.fromkeys(TABLES, 0.0)
    generate_s, next_frame_id, t_all = 0.0, 1, time.perf_counter()
    for d in range(params["days"]):
        t0 = time.perf_counter()
        tables = day_tables(fleet, plan, d, params["frame_chargers"], next_frame_id)
        generate_s += time.perf_counter() - t0
        next_frame_id += tables["frames"].num_rows
        for name, table in tables.items():
            t0 = time.perf_counter()
            writer.write(name, table)
            write_s[name] += time.perf_counter() - t0
            rows[name] += table.num_rows
        print(f"day {d + 1}/{params['days']}: {sum(rows.values()):,} rows", flush=True)
    build_s = time.perf_counter() - t_all
    ensure(data_dir)
    times = {"write_s": write_s, "generate_s": generate_s, "build_s": build_s}
    figures = figures_of(data_dir, params, rows, times)
    (data_dir / MARKER).write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def day_tables(fleet: Any, plan: dict[str, np.ndarray], d: int, frame_chargers: int,
               first_frame_id: int) -> dict[str, pa.Table]:
    day = make_day(fleet, plan, d)
    j, start_rows, stop_rows = journal(fleet, day, frame_chargers)
    frames, events, ids = j.finish(first_frame_id)
    return {"frames": frames, "events": events,
            "sessions": sessions_table(fleet, day, _ids(ids, start_rows), _ids(ids, stop_rows)),
            "alerts": alerts_table(fleet, day), "charger_health": health_table(fleet, day)}


def _ids(ids: np.ndarray, rows: np.ndarray) -> pa.Array:
    """Frame ids of frame rows; null where the row is -1 (no such frame)."""
    return pa.array(np.where(rows >= 0, ids[np.maximum(rows, 0)], 0), mask=rows < 0)


def parquet_bytes(data_dir: Path, table: str) -> int:
    return sum(p.stat().st_size for p in table_dir(data_dir, table).glob("date=*/*.parquet"))


def figures_of(data_dir: Path, params: dict[str, int], rows: dict[str, int],
               times: dict[str, Any]) -> dict[str, Any]:
    write_s = times["write_s"]
    sizes = {t: parquet_bytes(data_dir, t) for t in TABLES}
    return {
        "params": params, "rows": rows,
        "rows_per_s_written": {t: round(rows[t] / write_s[t]) for t in TABLES if write_s[t]},
        "write_s": {t: round(s, 1) for t, s in write_s.items()},
        "generate_s": round(times["generate_s"], 1), "build_s": round(times["build_s"], 1),
        "parquet_bytes": sizes, "total_bytes": sum(sizes.values()),
        "bytes_per_frame": round(sizes["frames"] / max(rows["frames"], 1), 2),
        "bytes_per_event": round(sizes["events"] / max(rows["events"], 1), 2),
        "files": {t: len(list(table_dir(data_dir, t).glob("date=*/*.parquet"))) for t in TABLES},
    }


def ensure_built(data_dir: Path = DEFAULT_DIR, params: dict[str, int] | None = None
                 ) -> dict[str, Any]:
    """The figures of the warehouse in ``data_dir``, building it first if needed."""
    params = params or params_of(parse([]))
    return cached(data_dir, params) or build(data_dir, params)


def main() -> None:
    args = parse()
    params = params_of(args)
    figures = None if args.rebuild else cached(args.data_dir, params)
    if figures is None:
        figures = build(args.data_dir, params)
    mb = figures["total_bytes"] / 1e6
    report("bigwarehouse", {"data_dir": str(args.data_dir), **figures},
           [*((f"{t} rows/s written", f"{v:,}")
              for t, v in figures["rows_per_s_written"].items()),
            *((f"{t} rows", f"{v:,}") for t, v in figures["rows"].items()),
            ("bytes per frame", figures["bytes_per_frame"]),
            ("total Parquet", f"{mb:,.0f} MB"), ("build", f"{figures['build_s']} s")])


if __name__ == "__main__":
    main()
