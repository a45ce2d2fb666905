"""Finance exports: ``finance_sessions`` rows of a date range as CSV or Parquet."""

from __future__ import annotations

import os
import uuid
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from canonical.errors import ConfigError
from warehouse.catalog import connect, query

FORMATS = ("csv", "parquet")

_FINANCE_SQL = """
select * replace (array_to_string(flags, ';') as flags)
from finance_sessions
where coalesce(stopped_at, started_at) >= cast($start as timestamptz)
    and coalesce(stopped_at, started_at) < cast($end as timestamptz)
order by coalesce(stopped_at, started_at), session_id
"""


def finance_rows(data_dir: Path, first_day: date, last_day: date) -> pa.Table:
    """Sessions that stopped (abandoned ones: started) from ``first_day`` 00:00 UTC through
    ``last_day`` 24:00 UTC: the rows of the billing periods those days are in.

    ``flags`` is joined with ``;`` so the table fits CSV as well as Parquet.
    """
    if last_day < first_day:
        raise ConfigError(f"--to {last_day} is before --from {first_day}")
    params = {"start": f"{first_day.isoformat()} 00:00:00+00",
              "end": f"{(last_day + timedelta(days=1)).isoformat()} 00:00:00+00"}
    con = connect(data_dir)
    try:
        return query(con, data_dir, _FINANCE_SQL, params)
    finally:
        con.close()


def export_finance(data_dir: Path, first_day: date, last_day: date, fmt: str,
                   output: Path) -> int:
    """Write the finance rows to ``output`` (atomically) and return how many were written."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
    table = finance_rows(data_dir, first_day, last_day)
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    try:
        if fmt == "csv":
            pacsv.write_csv(table, tmp)
        else:
            pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return int(table.num_rows)


def parse_day(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` argument; ConfigError naming the option and value otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} is not a YYYY-MM-DD date: {text!r}") from None
