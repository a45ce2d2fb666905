"""Fixtures for the uptime tests: the hand-built fleet (``fleet.py``) and its catalog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.dashboards.conftest import browser, tab  # noqa: F401 (the browser tests' fixtures)
from tests.uptime.fleet import records, write
from warehouse import catalog


@pytest.fixture
def fleet_dir_factory(tmp_path: Path) -> Callable[..., Path]:
    def make(tables: dict[str, list[Any]] | None = None) -> Path:
        data_dir = tmp_path / "data"
        write(data_dir, records() if tables is None else tables)
        return data_dir
    return make


@pytest.fixture
def fleet_dir(fleet_dir_factory: Callable[..., Path]) -> Path:
    return fleet_dir_factory()


@pytest.fixture
def rows(fleet_dir: Path) -> Callable[..., list[dict[str, Any]]]:
    """``rows("select ...")`` on the fleet's catalog, rebuilt first (exclusions may change)."""
    def run(sql: str) -> list[dict[str, Any]]:
        catalog.ensure(fleet_dir)
        con = catalog.connect(fleet_dir)
        try:
            return list(con.sql(sql).to_arrow_table().to_pylist())
        finally:
            con.close()
    return run
