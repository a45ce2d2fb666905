"""The dashboards' warehouse connection cannot change the warehouse. (The password gate, also
on a page opened by its address: tests/dashboards/test_pages.py and test_browser.py.)"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from warehouse.catalog import connect, ensure


@pytest.mark.parametrize("statement", [
    "create table intruder (x int)",
    "create view intruder as select 1",
    "drop view sessions",
    "create or replace view sessions as select 1 as session_id",
    "insert into intruder values (1)",
    "attach ':memory:' as scratch (read_only false); create table main.intruder (x int)",
])
def test_the_dashboards_connection_is_read_only(tmp_path: Path, statement: str) -> None:
    from dashboards.data import _connection

    ensure(tmp_path)
    catalog = _connection(str(tmp_path))
    with pytest.raises(duckdb.Error):
        for part in statement.split(";"):
            catalog.execute(part)
    with connect(tmp_path) as fresh:
        names = {r[0] for r in fresh.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()}
        assert "intruder" not in names and "sessions" in names
        assert fresh.execute("select count(*) from sessions").fetchone() == (0,)
