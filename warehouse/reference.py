"""Reference data the views price sessions with: tariff versions and sites, in the data dir.

``<data_dir>/tariffs.parquet`` (one row per ``canonical.tariffs.TariffVersion``) and
``<data_dir>/sites.parquet`` (one row per ``canonical.sites.Site``), written only here: under a
lock file (``<name>.lock``), as a whole new file renamed over the old one and fsync'd, so a
reader (the catalog's ``raw_tariffs``/``raw_sites`` views, any DuckDB client) sees the old set or
the new one, never a mix, and a bad import changes nothing. Every value was checked by the
canonical parsers before it gets here; the whole set is checked again (``check_versions``,
``check_sites``) before a write. The files are outside the warehouse generations: a replay
does not touch them. Prices are ``decimal(11,4)``, never floats.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from canonical.errors import ConfigError
from canonical.sites import Site, check_sites
from canonical.tariffs import EnergyBand, TariffScope, TariffVersion, check_versions
from ingest.files import OS, exclusive, make_dir, write_atomically

TARIFFS, SITES = "tariffs", "sites"
PRICE = pa.decimal128(11, 4)
_TIME = pa.timestamp("us", tz="UTC")
_BAND = pa.struct([("start_minute", pa.int32()), ("end_minute", pa.int32()),
                   ("price_per_kwh", PRICE)])
TARIFF_SCHEMA = pa.schema([
    ("tariff_id", pa.string()), ("version", pa.int32()), ("scope", pa.string()),
    ("scope_id", pa.string()), ("valid_from", _TIME), ("valid_to", _TIME),
    ("currency", pa.string()), ("vat_pct", pa.decimal128(5, 2)), ("energy_per_kwh", PRICE),
    ("energy_bands", pa.list_(_BAND)), ("day_prices", pa.list_(_BAND)),
    ("time_per_hour", PRICE), ("idle_per_hour", PRICE), ("idle_grace_min", pa.int32()),
    ("session_fee", PRICE)])
SITE_SCHEMA = pa.schema([
    ("site_id", pa.string()), ("name", pa.string()), ("address", pa.string()),
    ("city", pa.string()), ("postal_code", pa.string()), ("country", pa.string()),
    ("latitude", pa.string()), ("longitude", pa.string()), ("time_zone", pa.string()),
    ("charge_point_ids", pa.list_(pa.string())), ("connector_standard", pa.string()),
    ("connector_format", pa.string()), ("power_type", pa.string()),
    ("max_voltage", pa.int32()), ("max_amperage", pa.int32())])
SCHEMAS = {TARIFFS: TARIFF_SCHEMA, SITES: SITE_SCHEMA}


def reference_path(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / f"{name}.parquet"


def source_sql(data_dir: Path, name: str) -> str:
    """The select the catalog's ``raw_<name>`` view is."""
    path = str(reference_path(data_dir, name).resolve()).replace("'", "''")
    return f"select * from read_parquet('{path}')"


def ensure_files(data_dir: Path) -> None:
    """Write an empty file of each kind that is missing, so the views work before any
    ``tariffs add`` or ``sites add``. Idempotent."""
    for name, schema in SCHEMAS.items():
        path = reference_path(data_dir, name)
        if not path.exists():
            make_dir(OS, path.parent)
            with exclusive(OS, path):
                if not path.exists():
                    write_atomically(OS, path, _parquet(schema.empty_table()))


def read_tariffs(data_dir: Path) -> list[TariffVersion]:
    """Every tariff version, by tariff id then version."""
    rows = _read(data_dir, TARIFFS)
    return sorted((_tariff(r) for r in rows), key=lambda t: (t.tariff_id, t.version))


def read_sites(data_dir: Path) -> list[Site]:
    """Every site, by id."""
    return sorted((_site(r) for r in _read(data_dir, SITES)), key=lambda s: s.site_id)


def add_tariffs(data_dir: Path, new: Iterable[TariffVersion]) -> list[TariffVersion]:
    """Add ``new`` as the next versions of their tariffs (numbered in order), all or nothing;
    the versions as stored."""
    path = reference_path(data_dir, TARIFFS)
    make_dir(OS, path.parent)
    with exclusive(OS, path):
        stored = read_tariffs(data_dir)
        latest: dict[str, int] = {}
        for v in stored:
            latest[v.tariff_id] = max(latest.get(v.tariff_id, 0), v.version)
        added = []
        for v in new:
            latest[v.tariff_id] = latest.get(v.tariff_id, 0) + 1
            added.append(replace(v, version=latest[v.tariff_id]))
        check_versions([*stored, *added])
        rows = [_tariff_row(v) for v in [*stored, *added]]
        write_atomically(OS, path, _parquet(pa.Table.from_pylist(rows, TARIFF_SCHEMA)))
    return added


def put_sites(data_dir: Path, sites: Iterable[Site]) -> int:
    """Add ``sites`` or replace those of their ids, all or nothing; how many."""
    path = reference_path(data_dir, SITES)
    make_dir(OS, path.parent)
    with exclusive(OS, path):
        by_id = {s.site_id: s for s in read_sites(data_dir)}
        given = list(sites)
        check_sites(given)
        by_id.update((s.site_id, s) for s in given)
        check_sites(by_id.values())
        rows = [_site_row(s) for s in sorted(by_id.values(), key=lambda s: s.site_id)]
        write_atomically(OS, path, _parquet(pa.Table.from_pylist(rows, SITE_SCHEMA)))
    return len(given)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _read(data_dir: Path, name: str) -> list[dict[str, Any]]:
    path = reference_path(data_dir, name)
    if not path.exists():
        return []
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from None
    return list(table.cast(SCHEMAS[name]).to_pylist())


def _band_rows(bands: tuple[EnergyBand, ...]) -> list[dict[str, Any]]:
    return [{"start_minute": b.start_minute, "end_minute": b.end_minute,
             "price_per_kwh": b.price_per_kwh} for b in bands]


def _tariff_row(v: TariffVersion) -> dict[str, Any]:
    return {"tariff_id": v.tariff_id, "version": v.version, "scope": v.scope.value,
            "scope_id": v.scope_id, "valid_from": v.valid_from, "valid_to": v.valid_to,
            "currency": v.currency, "vat_pct": v.vat_pct, "energy_per_kwh": v.energy_per_kwh,
            "energy_bands": _band_rows(v.energy_bands), "day_prices": _band_rows(v.day_prices()),
            "time_per_hour": v.time_per_hour, "idle_per_hour": v.idle_per_hour,
            "idle_grace_min": v.idle_grace_min, "session_fee": v.session_fee}


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(UTC)


def _tariff(row: dict[str, Any]) -> TariffVersion:
    bands = tuple(EnergyBand(b["start_minute"], b["end_minute"], b["price_per_kwh"])
                  for b in row["energy_bands"] or ())
    return TariffVersion(
        tariff_id=row["tariff_id"], version=row["version"], scope=TariffScope(row["scope"]),
        scope_id=row["scope_id"], valid_from=row["valid_from"].astimezone(UTC),
        valid_to=_utc(row["valid_to"]),
        currency=row["currency"], vat_pct=row["vat_pct"], energy_per_kwh=row["energy_per_kwh"],
        energy_bands=bands, time_per_hour=row["time_per_hour"],
        idle_per_hour=row["idle_per_hour"], idle_grace_min=row["idle_grace_min"],
        session_fee=row["session_fee"])


def _site_row(s: Site) -> dict[str, Any]:
    return {"site_id": s.site_id, "name": s.name, "address": s.address, "city": s.city,
            "postal_code": s.postal_code, "country": s.country, "latitude": s.latitude,
            "longitude": s.longitude, "time_zone": s.time_zone,
            "charge_point_ids": list(s.charge_point_ids),
            "connector_standard": s.connector_standard, "connector_format": s.connector_format,
            "power_type": s.power_type, "max_voltage": s.max_voltage,
            "max_amperage": s.max_amperage}


def _site(row: dict[str, Any]) -> Site:
    return Site(**{**row, "charge_point_ids": tuple(row["charge_point_ids"] or ())})
