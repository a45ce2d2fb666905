"""Derive the simulator's session statistics from the public data sets in ../shared/data.

``python -m sim.derive_stats [DATA_DIR]`` writes ``sim/data/session_stats.json``: arrival
weights per hour of day, and quantiles (p0..p100 by 5) of duration (min) and energy (kWh) of
valid sessions (energy > 0, end after start) of Dundee and Perth. The simulator reads only
that file, never the CSVs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

OUT = Path(__file__).with_name("data") / "session_stats.json"
DEFAULT_DATA = Path(__file__).parents[2] / "shared" / "data"


def sessions(data_dir: Path) -> pl.DataFrame:
    frames = []
    for name in ("dundee_jun_sep_2018.csv", "perth_1819.csv"):
        df = pl.read_csv(data_dir / name, infer_schema_length=0, truncate_ragged_lines=True)
        frames.append(df.select(
            pl.concat_str(["Start Date", "Start Time"], separator=" ").alias("start"),
            pl.concat_str(["End Date", "End Time"], separator=" ").alias("end"),
            pl.col("Total kWh").cast(pl.Float64, strict=False).alias("kwh")))
    df = pl.concat(frames).with_columns(
        pl.col("start").str.strptime(pl.Datetime, "%d/%m/%Y %H:%M", strict=False),
        pl.col("end").str.strptime(pl.Datetime, "%d/%m/%Y %H:%M", strict=False))
    df = df.with_columns(((pl.col("end") - pl.col("start")).dt.total_minutes()).alias("minutes"))
    return df.filter((pl.col("kwh") > 0) & (pl.col("minutes") > 0) & (pl.col("minutes") < 1440))


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA
    df = sessions(data_dir)
    qs = [i / 20 for i in range(21)]
    hours = df.group_by(pl.col("start").dt.hour().alias("h")).len().sort("h")
    weights = {int(h): int(n) for h, n in hours.iter_rows()}
    stats = {
        "source": "Dundee Jun-Sep 2018 + Perth & Kinross 2018-19 (OGL v3)",
        "sessions": df.height,
        "arrival_weight_by_hour": [weights.get(h, 0) for h in range(24)],
        "duration_min_quantiles": [round(float(df["minutes"].quantile(q) or 0), 2) for q in qs],
        "energy_kwh_quantiles": [round(float(df["kwh"].quantile(q) or 0), 3) for q in qs],
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(stats, indent=1) + "\n")
    print(f"wrote {OUT} from {df.height} sessions")


if __name__ == "__main__":
    main()
