"""The OCPI objects of a data dir, validated: CDRs, Sessions, Locations, Tariffs.

Each function reads the warehouse views (under the readers' lock) and the reference data,
builds the objects (``chargeline.ocpi.objects``), checks every one against the OCPI 2.2.1
schema and returns an ``Export``: the valid objects, the invalid ones with their problems,
and what was left out and why (a held or unpriced session gets no CDR: a CDR is final).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from canonical.enums import ConnectorStatus
from canonical.errors import ConfigError
from canonical.sites import DEFAULT_SITE, Site
from canonical.tariffs import TariffVersion
from chargeline.ocpi import objects
from chargeline.ocpi.objects import Connector, EnergySegment, Party, PricedSession
from chargeline.ocpi.schema import OcpiObject, problems
from warehouse.catalog import connect, query
from warehouse.cost import tariffs_in_force
from warehouse.reference import read_sites, read_tariffs

_PRICED = """
select f.session_id, f.charge_point_id, f.connector_id, f.id_tag, f.started_at,
    {ended} as ended_at, f.energy_wh, c.billed_energy_wh, c.plugged_s, c.charging_s, c.idle_s,
    c.billed_idle_s, c.tariff_id, c.tariff_version, c.currency, c.energy_cost, c.time_cost,
    c.idle_cost, c.session_fee, c.cost_excl_vat, c.cost_incl_vat, f.updated_at, c.site_id,
    {why} as left_out
from {source} as f
inner join session_costs as c on c.session_id = f.session_id
where {where}
order by ended_at, f.session_id
"""
_CDR_SQL = _PRICED.format(
    ended="f.stopped_at", source="finance_sessions",
    why="case when not f.billable then 'held' when c.cost_missing_reason is not null "
        "then c.cost_missing_reason end",
    where="f.stopped_at >= cast($start as timestamptz) and f.stopped_at < cast($end as "
          "timestamptz)")
_LIVE_SQL = _PRICED.format(
    ended="f.last_event_at", source="sessions", why="c.cost_missing_reason",
    where="f.status = 'active'")
_SEGMENTS_SQL = """
select session_id, segment_from, segment_us, segment_energy_wh from session_energy_segments
where segment_from is not null
order by session_id, segment_from
"""
_CONNECTORS_SQL = """
with
seen as (
    select charge_point_id, coalesce(evse_id, connector_id) as connector_id,
        max(updated_at) as updated_at
    from sessions where coalesce(evse_id, connector_id) > 0 group by all
),
statuses as (
    select charge_point_id, coalesce(evse_id, connector_id) as connector_id,
        arg_max(status, server_received_at) as status, max(server_received_at) as updated_at
    from events
    where event_type = 'status_changed' and coalesce(evse_id, connector_id) > 0
    group by all
),
connectors as (
    select charge_point_id, connector_id, max(updated_at) as updated_at
    from (select * from seen union all select charge_point_id, connector_id, updated_at
          from statuses)
    group by all
)
select c.charge_point_id, c.connector_id, s.status, coalesce(h.online, false) as online,
    coalesce(h.sessions_active, 0) as sessions_active, c.updated_at
from connectors as c
left join statuses as s using (charge_point_id, connector_id)
left join charger_status as h using (charge_point_id)
order by 1, 2
"""


@dataclass
class Export:
    """Objects of one OCPI kind: ``valid`` ones, ``invalid`` ones (id → problems) and how
    many were ``left_out`` by reason."""

    kind: OcpiObject
    valid: list[dict[str, Any]] = field(default_factory=list)
    invalid: dict[str, list[str]] = field(default_factory=dict)
    left_out: Counter[str] = field(default_factory=Counter)

    def add(self, obj: dict[str, Any]) -> None:
        found = problems(self.kind, obj)
        if found:
            self.invalid[str(obj.get("id"))] = found
        else:
            self.valid.append(obj)

    def summary(self) -> str:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.left_out.items()))
        return (f"{len(self.valid)} {self.kind.value} objects valid, {len(self.invalid)} "
                f"invalid" + (f"; left out: {skipped}" if skipped else ""))


def _rows(data_dir: Path, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    con = connect(data_dir)
    try:
        return list(query(con, data_dir, sql, params).to_pylist())
    finally:
        con.close()


class _Places:
    """Which site a charger is in, and whether that site has an address for OCPI."""

    def __init__(self, sites: list[Site]) -> None:
        self.by_id = {s.site_id: s for s in sites}
        self.of = {cp: s for s in sites for cp in s.charge_point_ids}

    def site(self, charge_point_id: str) -> Site | None:
        return self.of.get(charge_point_id) or self.by_id.get(DEFAULT_SITE)


def _versions(data_dir: Path) -> dict[tuple[str, int], tuple[TariffVersion, datetime | None]]:
    """Each version with the time it stops pricing: its valid_to, or the next version's
    valid_from when that comes first."""
    versions = read_tariffs(data_dir)
    out: dict[tuple[str, int], tuple[TariffVersion, datetime | None]] = {}
    for v in versions:
        later = [w.valid_from for w in versions
                 if w.tariff_id == v.tariff_id and w.valid_from > v.valid_from]
        ends = [t for t in (v.valid_to, min(later, default=None)) if t is not None]
        out[(v.tariff_id, v.version)] = (v, min(ends, default=None))
    return out


def _priced(row: dict[str, Any]) -> PricedSession:
    fields = {k: row[k] for k in PricedSession.__dataclass_fields__}
    return PricedSession(**fields)


def cdrs(data_dir: Path, first_day: date, last_day: date, party: Party) -> Export:
    """CDRs of the billable, priced sessions stopped from ``first_day`` through ``last_day``
    (UTC days, as ``chargeline export finance``)."""
    if last_day < first_day:
        raise ConfigError(f"--to {last_day} is before --from {first_day}")
    params = {"start": f"{first_day.isoformat()} 00:00:00+00",
              "end": f"{(last_day + timedelta(days=1)).isoformat()} 00:00:00+00"}
    places, versions = _Places(read_sites(data_dir)), _versions(data_dir)
    segments: dict[str, list[EnergySegment]] = {}
    for g in _rows(data_dir, _SEGMENTS_SQL):
        segments.setdefault(g["session_id"], []).append(
            EnergySegment(g["segment_from"], g["segment_us"] / 1e6, g["segment_energy_wh"]))
    export = Export(OcpiObject.cdr)
    for row in _rows(data_dir, _CDR_SQL, params):
        site = places.site(row["charge_point_id"])
        if row["left_out"] is not None or site is None:
            export.left_out[row["left_out"] or "in no site with an address"] += 1
            continue
        version, until = versions[(row["tariff_id"], row["tariff_version"])]
        export.add(objects.cdr(party, _priced(row), site, segments.get(row["session_id"], []),
                               version=version, valid_until=until))
    return export


def sessions(data_dir: Path, party: Party) -> Export:
    """Sessions of the live (active) sessions, with their cost so far."""
    export = Export(OcpiObject.session)
    for row in _rows(data_dir, _LIVE_SQL):
        if row["left_out"] is not None:
            export.left_out[row["left_out"]] += 1
            continue
        export.add(objects.session(party, _priced(row), row["site_id"]))
    return export


def tariffs(data_dir: Path, party: Party) -> Export:
    """A Tariff per tariff version."""
    export = Export(OcpiObject.tariff)
    for version, until in _versions(data_dir).values():
        export.add(objects.tariff(party, version, until))
    return export


def locations(data_dir: Path, party: Party, at: datetime) -> Export:
    """A Location per site with an address, its EVSEs' status now (``at``, UTC) and the
    tariff each would be priced by for a session starting ``at``."""
    places = _Places(read_sites(data_dir))
    by_site: dict[str, list[Connector]] = {}
    export = Export(OcpiObject.location)
    for row in _rows(data_dir, _CONNECTORS_SQL):
        site = places.site(row["charge_point_id"])
        if site is None:
            export.left_out["connectors in no site with an address"] += 1
            continue
        status = row["status"] if row["status"] in set(ConnectorStatus) else None
        by_site.setdefault(site.site_id, []).append(Connector(
            row["charge_point_id"], row["connector_id"],
            None if status is None else ConnectorStatus(status), row["online"],
            row["sessions_active"], row["updated_at"]))
    chargers = sorted({c.charge_point_id for cs in by_site.values() for c in cs})
    in_force = tariffs_in_force(data_dir, chargers, at)
    for site_id, connectors in sorted(by_site.items()):
        ids = sorted({objects.tariff_ocpi_id(*in_force[c.charge_point_id])
                      for c in connectors if c.charge_point_id in in_force})
        export.add(objects.location(party, places.by_id[site_id], connectors, ids,
                                    max(c.updated_at for c in connectors)))
    return export


def write_json(export: Export, output: Path) -> None:
    """The valid objects as one JSON array, written atomically."""
    tmp = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    try:
        tmp.write_bytes(orjson.dumps(export.valid, option=orjson.OPT_INDENT_2))
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
