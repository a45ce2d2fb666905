"""The DuckDB catalog: ``<data_dir>/warehouse/catalog.duckdb``, holding only views (and table
macros: views with parameters).

Views read the Parquet files by glob at query time, so new data shows up without touching the
catalog, and the pipeline never opens it: readers (dashboards, analysts, ``chargeline sql``)
open it read-only, any number at once. ``ensure`` builds the file beside the old one and
renames it into place, so a reader holding the old file keeps working.

Layers, each a folder of ``.sql`` files under ``warehouse/sql`` (one view per file, named
after it): ``raw_<table>`` sources (the files as written, duplicates included) → staging
(deduplicated by natural key) → intermediate → marts. A file holding a ``create macro``
statement instead of a select defines a table macro of the same name, e.g.
``session_timeline_of``: one session's timeline with bounds that reach the Parquet scans.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from warehouse import exclusions, reference
from warehouse.layout import readers_lock, table_glob, warehouse_dir
from warehouse.tables import TABLES
from warehouse.vocabulary import vocabulary_sql
from warehouse.writer import WarehouseWriter

SQL_DIR = Path(__file__).parent / "sql"
LAYERS = ("staging", "intermediate", "marts")
CATALOG_NAME = "catalog.duckdb"


def catalog_path(data_dir: Path) -> Path:
    return warehouse_dir(data_dir) / CATALOG_NAME


def view_sql() -> list[tuple[str, str]]:
    """(view or macro name, its SQL): the vocabulary tables, then every SQL file, in layer
    order."""
    views = vocabulary_sql()
    for layer in LAYERS:
        for path in sorted((SQL_DIR / layer).glob("*.sql")):
            views.append((path.stem, path.read_text()))
    return views


def source_sql(data_dir: Path, table: str) -> str:
    """The raw source of a table: every file, duplicates included, columns unified by name."""
    glob = table_glob(data_dir, table).replace("'", "''")
    return (f"select * from read_parquet('{glob}', union_by_name = true, "
            f"hive_partitioning = false)")


def exclusions_source_sql(data_dir: Path) -> str:
    """The operator's uptime exclusions (``warehouse/exclusions.py``): kept outside the
    generations, so a replay keeps them."""
    glob = exclusions.exclusions_glob(data_dir).replace("'", "''")
    return f"select * from read_parquet('{glob}', union_by_name = true)"


def fingerprint(data_dir: Path) -> str:
    """Changes when the SQL, the table list, where the tables are read from (the data
    directory's location, the sources' globs) changes."""
    digest = hashlib.sha256(str(warehouse_dir(data_dir).resolve()).encode())
    for name, sql in view_sql():
        digest.update(name.encode() + sql.encode())
    digest.update(",".join(TABLES).encode())
    for table in TABLES:
        digest.update(source_sql(data_dir, table).encode())
    digest.update(exclusions_source_sql(data_dir).encode())
    for name in reference.SCHEMAS:
        digest.update(reference.source_sql(data_dir, name).encode())
    return digest.hexdigest()[:16]


def ensure(data_dir: Path) -> Path:
    """Create or refresh the catalog; a no-op when it is already current. Idempotent, and safe
    while readers have the old catalog open or another process runs ``ensure`` too."""
    WarehouseWriter(data_dir, durable=False)
    exclusions.ensure_seed(data_dir)
    reference.ensure_files(data_dir)
    path = catalog_path(data_dir)
    wanted = fingerprint(data_dir)
    if path.exists() and _current_fingerprint(path) == wanted:
        return path
    tmp = path.with_name(f".{CATALOG_NAME}.{uuid.uuid4().hex}.tmp")
    try:
        _build(tmp, data_dir, wanted)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _build(path: Path, data_dir: Path, wanted: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("set TimeZone = 'UTC'")
        for table in TABLES:
            con.execute(f"create view raw_{table} as {source_sql(data_dir, table)}")
        con.execute(f"create view raw_uptime_exclusions as {exclusions_source_sql(data_dir)}")
        for name in reference.SCHEMAS:
            con.execute(f"create view raw_{name} as {reference.source_sql(data_dir, name)}")
        _create_views(con, view_sql())
        con.execute(f"create view catalog_info as select '{wanted}' as fingerprint")
        con.execute("checkpoint")
    finally:
        con.close()


def _create_views(con: duckdb.DuckDBPyConnection, views: list[tuple[str, str]]) -> None:
    """Create views in order, retrying any that name a view created later in the same layer."""
    pending = list(views)
    while pending:
        failed: list[tuple[str, str]] = []
        errors: list[str] = []
        for name, sql in pending:
            try:
                con.execute(create_statement(name, sql))
            except duckdb.CatalogException as exc:
                failed.append((name, sql))
                errors.append(f"{name}: {exc}")
        if len(failed) == len(pending):
            raise RuntimeError("views cannot be created: " + "; ".join(errors))
        pending = failed


def create_statement(name: str, sql: str) -> str:
    """A file's statement: a ``create macro`` runs as written, a select becomes a view."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    if code.lstrip().lower().startswith("create macro"):
        return sql
    return f"create view {name} as {sql}"


def _current_fingerprint(path: Path) -> str | None:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("select fingerprint from catalog_info").fetchone()
        return str(row[0]) if row else None
    except duckdb.Error:
        return None
    finally:
        con.close()


def connect(data_dir: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection to the catalog (created first if missing), session time zone UTC.

    Read-only by default: any number of readers may hold one while the pipeline writes.
    Prefer ``query`` (or ``reading``) for reads, which also keeps compaction from removing a
    file between DuckDB listing it and opening it.
    """
    path = catalog_path(data_dir)
    if not path.exists():
        ensure(data_dir)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set TimeZone = 'UTC'")
    return con


@contextmanager
def reading(data_dir: Path) -> Iterator[None]:
    """Hold the warehouse's shared reader lock: compaction and prune never delete a file,
    and a replay never swaps the generation, while any holder runs a query. Cheap (one
    ``flock``); hold it per query, not per session."""
    with readers_lock(data_dir, exclusive=False):
        yield


@contextmanager
def deleting(data_dir: Path) -> Iterator[None]:
    """The exclusive side of ``reading``: held by compaction and prune while files go away,
    and by a replay while it swaps the generation."""
    with readers_lock(data_dir, exclusive=True):
        yield


def query(con: duckdb.DuckDBPyConnection, data_dir: Path, sql: str,
          params: list[Any] | dict[str, Any] | None = None) -> pa.Table:
    """Run one read query under the reader lock; the result as an Arrow table."""
    with reading(data_dir):
        return con.sql(sql, params=params).to_arrow_table()
