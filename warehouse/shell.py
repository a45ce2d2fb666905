"""``chargeline sql``: one query printed as a table, CSV or JSON, or a small interactive
shell (python's duckdb has none) reading ``;``-terminated statements from stdin."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TextIO

import duckdb
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv

from canonical.errors import ConfigError
from warehouse.catalog import connect, query

FORMATS = ("table", "csv", "json")
MAX_CELL = 60


def render(table: pa.Table, fmt: str) -> str:
    """The result as text in ``fmt`` (table, csv or json: one JSON array of objects)."""
    if fmt == "csv":
        sink = io.BytesIO()
        pacsv.write_csv(_flat(table), sink)
        return sink.getvalue().decode()
    if fmt == "json":
        opts = orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC
        return orjson.dumps(table.to_pylist(), default=str, option=opts).decode() + "\n"
    if fmt == "table":
        return _text_table(table)
    raise ConfigError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")


def _flat(table: pa.Table) -> pa.Table:
    """Nested columns (lists, structs) as their text, since CSV has no place for them."""
    columns = [pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())
               if pa.types.is_nested(col.type) else col for col in table.columns]
    return pa.table(columns, names=table.column_names)


def _text_table(table: pa.Table) -> str:
    cells = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
    names = table.column_names
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    line = "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join([line, rule, *body, f"({table.num_rows} rows)"]) + "\n"


def _cell(value: object) -> str:
    text = "NULL" if value is None else str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def run_query(data_dir: Path, sql: str, fmt: str, out: TextIO) -> None:
    """Run one statement on the catalog (read-only) and print its result."""
    con = connect(data_dir)
    try:
        out.write(render(query(con, data_dir, sql), fmt))
    finally:
        con.close()


def repl(data_dir: Path, fmt: str, stdin: TextIO, out: TextIO) -> int:
    """Read statements ending in ``;`` until EOF or ``.quit``; print each result or error."""
    con = connect(data_dir)
    interactive = stdin.isatty()
    buffer: list[str] = []
    try:
        while True:
            if interactive:
                out.write("chargeline> " if not buffer else "       ...> ")
                out.flush()
            line = stdin.readline()
            if not line or (not buffer and line.strip() in (".quit", ".exit", "\\q")):
                return 0
            buffer.append(line)
            statement = "".join(buffer).strip()
            if statement.endswith(";"):
                buffer.clear()
                _run_one(con, data_dir, statement.rstrip(";"), fmt, out)
    finally:
        con.close()


def _run_one(con: duckdb.DuckDBPyConnection, data_dir: Path, sql: str, fmt: str,
             out: TextIO) -> None:
    try:
        out.write(render(query(con, data_dir, sql), fmt))
    except duckdb.Error as exc:
        print(f"error: {exc}", file=sys.stderr)
