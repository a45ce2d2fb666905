"""Uptime exports: ``port_uptime_daily`` / ``port_uptime_monthly`` rows of a date range, each
with the exclusions applied to it, and the exclusions themselves in a file beside
(``<output>.exclusions.<ext>``), as CSV (through ``export.csv_bytes``) or Parquet."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from canonical.errors import ConfigError
from warehouse.catalog import connect, query
from warehouse.export import FORMATS, write_table

PERIODS = {"day": ("port_uptime_daily", "day"), "month": ("port_uptime_monthly", "month")}

_ROWS_SQL = """
with applied as (
    select charge_point_id, port_id, cast(date_trunc('{unit}', day) as date) as {column},
        string_agg(distinct exclusion_id || ':' || excluded_category, ';'
                   order by exclusion_id || ':' || excluded_category) as exclusions
    from int_port_downtime
    where exclusion_id is not null and cause is not null
    group by all
)
select u.*, a.exclusions
from {view} as u
left join applied as a using (charge_point_id, port_id, {column})
where u.{column} >= cast($first as date) and u.{column} < cast($until as date)
order by u.{column}, u.charge_point_id, u.port_id
"""

_EXCLUSIONS_SQL = """
select distinct on (x.exclusion_id) x.*, c.regulation_text
from raw_uptime_exclusions as x
left join exclusion_categories as c using (category)
where x.excluded_from < cast($until as timestamptz)
    and x.excluded_until > cast($first as timestamptz)
order by x.exclusion_id
"""


def uptime_rows(data_dir: Path, first_day: date, last_day: date,
                period: str = "day") -> tuple[pa.Table, pa.Table]:
    """(port rows, exclusions) from ``first_day`` through ``last_day`` (UTC, inclusive); by
    month, the months those days begin."""
    if last_day < first_day:
        raise ConfigError(f"--to {last_day} is before --from {first_day}")
    if period not in PERIODS:
        raise ConfigError(f"unknown period {period!r}; valid: {', '.join(PERIODS)}")
    view, column = PERIODS[period]
    if period == "month":
        first_day = first_day.replace(day=1)
    params = {"first": first_day.isoformat(),
              "until": (last_day + timedelta(days=1)).isoformat()}
    sql = _ROWS_SQL.format(unit=period, column=column, view=view)
    con = connect(data_dir)
    try:
        return (query(con, data_dir, sql, params),
                query(con, data_dir, _EXCLUSIONS_SQL, params))
    finally:
        con.close()


def exclusions_path(output: Path) -> Path:
    return output.with_name(f"{output.stem}.exclusions{output.suffix}")


def export_uptime(data_dir: Path, first_day: date, last_day: date, fmt: str, output: Path, *,
                  period: str = "day") -> tuple[int, int]:
    """Write the rows to ``output`` and the exclusions beside it, each atomically; returns
    (rows, exclusions) written."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
    rows, excluded = uptime_rows(data_dir, first_day, last_day, period)
    write_table(rows, fmt, output)
    write_table(excluded, fmt, exclusions_path(output))
    return int(rows.num_rows), int(excluded.num_rows)
