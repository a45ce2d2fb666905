"""Finance exports: ``finance_sessions`` rows of a date range as CSV or Parquet.

Every CSV this package or the dashboards hand out goes through ``csv_bytes``: text a charger
chose (idTag, a 2.0.1 transactionId, its charge point id, timestamps as sent) is written so
that a spreadsheet shows it rather than runs it (``csv_safe``). Parquet keeps the raw value.
"""

from __future__ import annotations

import io
import os
import uuid
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from canonical.errors import ConfigError
from warehouse.catalog import connect, query

FORMATS = ("csv", "parquet")
# OWASP's CSV injection rule: a cell starting with one of these is a formula (or becomes one
# once the spreadsheet trims a tab or carriage return); a single quote before it makes it text.
FORMULA_START = r"^[=+\-@\t\r]"

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
    write_table(table, fmt, output)
    return int(table.num_rows)


def write_table(table: pa.Table, fmt: str, output: Path) -> None:
    """``table`` as CSV (``csv_bytes``) or Parquet at ``output``, atomically: a reader sees
    the old file or the whole new one."""
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    try:
        if fmt == "csv":
            tmp.write_bytes(csv_bytes(table))
        else:
            pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)


def csv_safe(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return prefixed with a single quote (OWASP: CSV injection), so a spreadsheet
    shows ``'=HYPERLINK(...)`` instead of running it. Other cells and types are unchanged."""
    return pa.table([_quoted(column) for column in table.columns], schema=table.schema)


def _quoted(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    risky = pc.match_substring_regex(column, FORMULA_START)
    quote, empty = pa.scalar("'", column.type), pa.scalar("", column.type)
    return pc.if_else(risky, pc.binary_join_element_wise(quote, column, empty), column)


def csv_bytes(table: pa.Table) -> bytes:
    """``table`` as CSV (header line, text quoted), formula-like cells escaped (``csv_safe``)."""
    sink = io.BytesIO()
    pacsv.write_csv(csv_safe(table), sink)
    return sink.getvalue()


def parse_day(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` argument; ConfigError naming the option and value otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} is not a YYYY-MM-DD date: {text!r}") from None
