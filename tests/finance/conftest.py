"""Pricing fixtures: a data dir with sessions written through the warehouse writer, tariffs
and sites added through the store the CLI uses (x_factory + x pairs)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from canonical import SessionRecord, to_batch
from canonical.sites import parse_site
from canonical.tariffs import parse_tariff
from tests.warehouse.conftest import session
from warehouse import catalog, reference
from warehouse.writer import WarehouseWriter

ROOT = Path(__file__).parents[2]
CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """The rounding rule, written independently of the SQL: half-even to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def chargeline(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m chargeline ...`` in the worktree, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "chargeline", *args], cwd=ROOT, check=check,
                          capture_output=True, text=True, timeout=120)


def site_fields(site_id: str = "S1", **kw: str) -> dict[str, str | None]:
    base = dict(site_id=site_id, name="Harbour", address="Kaai 2", city="Antwerpen",
                postal_code="2000", country="BEL", latitude="51.21989", longitude="4.40346",
                time_zone="Europe/Brussels", charge_point_ids="")
    return {**base, **kw}


def tariff_fields(tariff_id: str = "T", **kw: str) -> dict[str, str | None]:
    base = dict(tariff_id=tariff_id, scope="default", valid_from="2020-01-01", currency="EUR",
                vat_pct="21", energy_per_kwh="0.39")
    return {**base, **kw}


@pytest.fixture
def priced_factory(tmp_path: Path) -> Callable[..., Callable[[str], list[dict[str, Any]]]]:
    """``priced(sessions, tariffs=[fields...], sites=[fields...])``: a data dir holding them;
    returns ``rows(sql)`` over its catalog."""
    def make(sessions: list[SessionRecord], tariffs: list[dict[str, str | None]],
             sites: list[dict[str, str | None]] | None = None) -> Callable[[str], Any]:
        data = tmp_path / "data"
        WarehouseWriter(data, durable=False).write("sessions", to_batch(SessionRecord, sessions))
        if sites:
            reference.put_sites(data, [parse_site(s) for s in sites])
        if tariffs:
            reference.add_tariffs(data, [parse_tariff(t) for t in tariffs])
        catalog.ensure(data)

        def rows(sql: str) -> list[dict[str, Any]]:
            con = catalog.connect(data)
            try:
                return list(catalog.query(con, data, sql).to_pylist())
            finally:
                con.close()
        rows.data_dir = data  # type: ignore[attr-defined]
        return rows
    return make


__all__ = ["cents", "chargeline", "session", "site_fields", "tariff_fields"]
