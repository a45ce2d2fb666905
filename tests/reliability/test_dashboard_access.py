"""The dashboards' warehouse connection cannot change the warehouse. (The password gate, also
on a page opened by its address: tests/dashboards/test_pages.py and test_browser.py.)

Each write must be refused *because the catalog is attached read-only* — not for some other
reason (a typo, a missing table, a dead connection would refuse everything too) — and the
same connection must still read afterwards."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from canonical import SessionRecord, to_batch
from tests.warehouse.conftest import session
from warehouse.catalog import catalog_path, connect, ensure
from warehouse.writer import WarehouseWriter

READ_ONLY = r'Cannot execute statement of type "{}" on database "catalog" which is attached ' \
            r"in read-only mode"


@pytest.mark.parametrize(("statements", "refused_as"), [
    (["create table intruder (x int)"], "CREATE"),
    (["create table intruder as select * from sessions"], "CREATE"),
    (["create view intruder as select 1"], "CREATE"),
    (["create macro intruder() as 1"], "CREATE"),
    (["drop view sessions"], "DROP"),
    (["create or replace view sessions as select 1 as session_id"], "CREATE"),
    (["alter view sessions rename to sessions_old"], "ALTER"),
    (["insert into probe values (2)"], "INSERT"),
    (["update probe set x = 3"], "UPDATE"),
    (["delete from probe"], "DELETE"),
    (["copy probe from '/etc/hostname'"], "COPY"),
    # A scratch database may be attached (it is the connection's own, in memory); the
    # catalog stays read-only beside it.
    (["attach ':memory:' as scratch (read_only false)", "create table main.intruder (x int)"],
     "CREATE"),
])
def test_the_dashboards_connection_is_read_only(tmp_path: Path, statements: list[str],
                                                refused_as: str) -> None:
    from dashboards.data import connection as _connection

    data_dir = tmp_path
    WarehouseWriter(data_dir, durable=False).write("sessions",
                                                   to_batch(SessionRecord, [session("1")]))
    ensure(data_dir)
    with duckdb.connect(str(catalog_path(data_dir))) as builder:  # the builder makes views
        builder.execute("create table probe (x int); insert into probe values (1)")  # only
    catalog = _connection(str(data_dir))
    *allowed, write = statements
    for statement in allowed:
        catalog.execute(statement)
    with pytest.raises(duckdb.InvalidInputException, match=READ_ONLY.format(refused_as)):
        catalog.execute(write)
    assert catalog.execute("select count(*), sum(energy_kwh) from sessions").fetchone() == (1, 7.0)
    assert catalog.execute("select x from probe").fetchall() == [(1,)]
    with connect(data_dir) as fresh:
        names = {r[0] for r in fresh.execute(
            "select table_name from information_schema.tables where table_schema = 'main'"
        ).fetchall()}
        assert "intruder" not in names and {"sessions", "sessions_old"} & names == {"sessions"}
        assert fresh.execute("select count(*) from sessions").fetchone() == (1,)
