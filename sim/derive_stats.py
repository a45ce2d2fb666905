"""Derive the simulator's session statistics from the public data sets in ../shared/data.

``python -m sim.derive_stats [DATA_DIR]`` writes ``sim/data/session_stats.json``: arrival
weights per hour of day, and quantiles (p0..p100 by 5) of duration (min) and energy (kWh) of
valid sessions (energy > 0, end after start) of Dundee and Perth; quantiles of charging power
(kW): AC from Boulder's Level 2 sessions (energy / charging time, charging time over 5 min),
DC from Dundee's rapid chargers (energy / plug-in time, 10 to 120 min: a lower bound of the
charging power, which is what a rapid session mostly is). The simulator reads only that file,
never the CSVs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

OUT = Path(__file__).with_name("data") / "session_stats.json"
DEFAULT_DATA = Path(__file__).parents[2] / "shared" / "data"


def sessions_of(df: pl.DataFrame) -> pl.DataFrame:
    """start, end, kwh and minutes of a Dundee/Perth-shaped table, valid sessions only."""
    df = df.select(
        pl.concat_str(["Start Date", "Start Time"], separator=" ").alias("start"),
        pl.concat_str(["End Date", "End Time"], separator=" ").alias("end"),
        pl.col("Total kWh").cast(pl.Float64, strict=False).alias("kwh")).with_columns(
        pl.col("start").str.strptime(pl.Datetime, "%d/%m/%Y %H:%M", strict=False),
        pl.col("end").str.strptime(pl.Datetime, "%d/%m/%Y %H:%M", strict=False))
    df = df.with_columns(((pl.col("end") - pl.col("start")).dt.total_minutes()).alias("minutes"))
    return df.filter((pl.col("kwh") > 0) & (pl.col("minutes") > 0) & (pl.col("minutes") < 1440))


def sessions(data_dir: Path) -> pl.DataFrame:
    return pl.concat([sessions_of(pl.read_csv(data_dir / name, infer_schema_length=0,
                                              truncate_ragged_lines=True))
                      for name in ("dundee_jun_sep_2018.csv", "perth_1819.csv")])


def _seconds(column: str) -> pl.Expr:
    parts = pl.col(column).str.split(":")
    return sum((parts.list.get(i).cast(pl.Float64, strict=False) * 60 ** (2 - i)
                for i in range(3)), pl.lit(0.0))


def ac_power_kw(data_dir: Path) -> pl.Series:
    df = pl.read_csv(data_dir / "boulder.csv", infer_schema_length=0)
    df = df.rename({df.columns[0]: df.columns[0].lstrip("\ufeff")}).with_columns(
        _seconds("Charging_Time__hh_mm_ss_").alias("charging_s"),
        pl.col("Energy__kWh_").cast(pl.Float64, strict=False).alias("kwh"))
    df = df.filter((pl.col("Port_Type") == "Level 2") & (pl.col("charging_s") > 300)
                   & (pl.col("kwh") > 0.1))
    return df["kwh"] / (df["charging_s"] / 3600)


def dc_power_kw(data_dir: Path) -> pl.Series:
    df = pl.read_csv(data_dir / "dundee_jun_sep_2018.csv", infer_schema_length=0,
                     truncate_ragged_lines=True)
    rapid = df.filter(pl.col("Model").str.contains("(?i)rapid|50kW"))
    times = sessions_of(rapid)
    times = times.filter((pl.col("minutes") >= 10) & (pl.col("minutes") <= 120)
                         & (pl.col("kwh") > 0.5))
    return (times["kwh"] / (times["minutes"] / 60)).clip(upper_bound=50.0)


def _quantiles(values: pl.Series, digits: int) -> list[float]:
    return [round(float(values.quantile(i / 20) or 0), digits) for i in range(21)]


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA
    df = sessions(data_dir)
    hours = df.group_by(pl.col("start").dt.hour().alias("h")).len().sort("h")
    weights = {int(h): int(n) for h, n in hours.iter_rows()}
    stats = {
        "source": "Dundee Jun-Sep 2018 + Perth & Kinross 2018-19 (OGL v3)",
        "sessions": df.height,
        "arrival_weight_by_hour": [weights.get(h, 0) for h in range(24)],
        "duration_min_quantiles": _quantiles(df["minutes"], 2),
        "energy_kwh_quantiles": _quantiles(df["kwh"], 3),
        "power_source": "AC: Boulder Level 2 (City of Boulder open data); DC: Dundee rapid",
        "ac_power_kw_quantiles": _quantiles(ac_power_kw(data_dir), 3),
        "dc_power_kw_quantiles": _quantiles(dc_power_kw(data_dir), 3),
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(stats, indent=1) + "\n")
    print(f"wrote {OUT} from {df.height} sessions")


if __name__ == "__main__":
    main()
