"""OCPI 2.2.1 objects (as JSON-ready dicts) from priced sessions, sites and tariff versions.

Pure functions; section numbers are OCPI 2.2.1's. Ids: OCPI wants CiString(36) ids
(printable ASCII); a chargeline id that fits is used as is, else its UUID-5 (``ocpi_id``),
the same every time. A CDR and its Session share the id: ``ocpi_id(session_id)``. Amounts
are JSON numbers written from the exact decimals (2 decimals: the text is the decimal).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from canonical.enums import ConnectorStatus
from canonical.sites import Site
from canonical.tariffs import MINUTES_PER_DAY, TariffVersion, clock

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:chargeline:ocpi")
_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))
_IN_USE = frozenset({ConnectorStatus.preparing, ConnectorStatus.charging,
                     ConnectorStatus.suspended_ev, ConnectorStatus.suspended_evse,
                     ConnectorStatus.finishing, ConnectorStatus.occupied})
_EVSE_STATUS = {ConnectorStatus.available: "AVAILABLE", ConnectorStatus.reserved: "RESERVED",
                ConnectorStatus.unavailable: "INOPERATIVE", ConnectorStatus.faulted: "OUTOFORDER"}


@dataclass(frozen=True, slots=True)
class Party:
    """The CPO that owns the objects: ISO 3166-1 alpha-2 country code and party id."""

    country_code: str
    party_id: str


@dataclass(frozen=True, slots=True)
class PricedSession:
    """A session with its cost (``finance_sessions`` / ``session_costs`` columns)."""

    session_id: str
    charge_point_id: str
    connector_id: int | None
    id_tag: str | None
    started_at: datetime
    ended_at: datetime
    energy_wh: float
    billed_energy_wh: int
    plugged_s: int
    charging_s: int
    idle_s: int
    billed_idle_s: int
    tariff_id: str
    tariff_version: int
    currency: str
    energy_cost: Decimal
    time_cost: Decimal
    idle_cost: Decimal
    session_fee: Decimal
    cost_excl_vat: Decimal
    cost_incl_vat: Decimal
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EnergySegment:
    """Energy of a session in one tariff band (``session_energy_segments``)."""

    starts_at: datetime
    seconds: float
    energy_wh: int


@dataclass(frozen=True, slots=True)
class Connector:
    """One connector of a charger and what is known of its state now."""

    charge_point_id: str
    connector_id: int
    status: ConnectorStatus | None
    charger_online: bool
    sessions_active: int
    updated_at: datetime


def ocpi_id(text: str, longest: int = 36) -> str:
    """``text`` when it is printable ASCII of at most ``longest``, else its UUID-5."""
    if 0 < len(text) <= longest and set(text) <= _PRINTABLE_ASCII:
        return text
    return str(uuid.uuid5(_NAMESPACE, text))


def wire_time(at: datetime) -> str:
    """OCPI DateTime (§16.2): UTC, ``Z``, whole seconds."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def tariff_ocpi_id(tariff_id: str, version: int) -> str:
    return ocpi_id(f"{tariff_id}-v{version}")


def evse_uid(charge_point_id: str, connector_id: int) -> str:
    """One EVSE per connector, as OCPI advises for OCPP 1.x (note under §8.3.2)."""
    return ocpi_id(f"{charge_point_id}-{connector_id}")


def _money(amount: Decimal) -> float:
    return float(amount)  # 2 decimals: the shortest repr of the float is the decimal's text


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 4)


def token(party: Party, id_tag: str | None) -> dict[str, Any]:
    """CdrToken (§10.4.5): the idTag as uid and contract id, owned by the CPO itself (the
    tokens are chargeline's authorization list)."""
    uid = ocpi_id(id_tag) if id_tag else "UNKNOWN"
    return {"country_code": party.country_code, "party_id": party.party_id, "uid": uid,
            "type": "RFID" if id_tag else "OTHER", "contract_id": uid}


def tariff(party: Party, v: TariffVersion, valid_until: datetime | None) -> dict[str, Any]:
    """Tariff (§11.3.1) of one version: an ENERGY element per local time-of-day band
    (``start_time``/``end_time`` restrictions), then one element with TIME, PARKING_TIME and
    FLAT. The idle grace period has no OCPI restriction: ``tariff_alt_text`` says it, and a
    CDR's grace period carries no tariff_id."""
    vat = float(v.vat_pct)
    elements: list[dict[str, Any]] = []
    for band in v.day_prices():
        element: dict[str, Any] = {"price_components": [
            {"type": "ENERGY", "price": float(band.price_per_kwh), "vat": vat, "step_size": 1}]}
        if (band.start_minute, band.end_minute) != (0, MINUTES_PER_DAY):
            element["restrictions"] = {"start_time": clock(band.start_minute),
                                       "end_time": clock(band.end_minute % MINUTES_PER_DAY)}
        elements.append(element)
    others = [{"type": kind, "price": float(price), "vat": vat, "step_size": 1}
              for kind, price in (("TIME", v.time_per_hour), ("PARKING_TIME", v.idle_per_hour),
                                  ("FLAT", v.session_fee)) if price is not None]
    if others or not elements:
        elements.append({"price_components": others or [
            {"type": "FLAT", "price": 0.0, "vat": vat, "step_size": 1}]})
    out: dict[str, Any] = {
        "country_code": party.country_code, "party_id": party.party_id,
        "id": tariff_ocpi_id(v.tariff_id, v.version), "currency": v.currency,
        "elements": elements, "start_date_time": wire_time(v.valid_from),
        "last_updated": wire_time(v.valid_from)}
    if valid_until is not None:
        out["end_date_time"] = wire_time(valid_until)
    if v.idle_per_hour is not None and v.idle_grace_min:
        out["tariff_alt_text"] = [{"language": "en", "text": (
            f"The idle fee starts {v.idle_grace_min} minutes after charging ends.")}]
    return out


def _cdr_location(party: Party, site: Site, s: PricedSession) -> dict[str, Any]:
    connector = s.connector_id or 1
    location: dict[str, Any] = {
        "id": site.site_id, "name": site.name, "address": site.address, "city": site.city,
        "country": site.country,
        "coordinates": {"latitude": site.latitude, "longitude": site.longitude},
        "evse_uid": evse_uid(s.charge_point_id, connector),
        "evse_id": ocpi_id(f"{party.country_code}*{party.party_id}*E{s.charge_point_id}"
                           f"*{connector}", 48),
        "connector_id": str(connector), "connector_standard": site.connector_standard,
        "connector_format": site.connector_format,
        "connector_power_type": site.power_type}
    if site.postal_code:
        location["postal_code"] = site.postal_code
    return location


def charging_periods(s: PricedSession, segments: list[EnergySegment]) -> list[dict[str, Any]]:
    """ChargingPeriods (§10.4.6): one per energy band segment (ENERGY, TIME), then the idle
    grace (PARKING_TIME, no tariff: not billed) and the billed idle time (PARKING_TIME)."""
    tariff_id = tariff_ocpi_id(s.tariff_id, s.tariff_version)
    periods = [{"start_date_time": wire_time(g.starts_at), "tariff_id": tariff_id,
                "dimensions": [{"type": "ENERGY", "volume": g.energy_wh / 1000},
                               {"type": "TIME", "volume": _hours(g.seconds)}]}
               for g in segments]
    if not periods:
        periods.append({"start_date_time": wire_time(s.started_at), "tariff_id": tariff_id,
                        "dimensions": [{"type": "ENERGY", "volume": s.billed_energy_wh / 1000},
                                       {"type": "TIME", "volume": _hours(s.charging_s)}]})
    idle_from = s.started_at + timedelta(seconds=s.charging_s)
    unbilled = s.idle_s - s.billed_idle_s
    if unbilled > 0:
        periods.append({"start_date_time": wire_time(idle_from),
                        "dimensions": [{"type": "PARKING_TIME", "volume": _hours(unbilled)}]})
    if s.billed_idle_s > 0:
        periods.append({"start_date_time": wire_time(idle_from + timedelta(seconds=unbilled)),
                        "tariff_id": tariff_id,
                        "dimensions": [{"type": "PARKING_TIME",
                                        "volume": _hours(s.billed_idle_s)}]})
    return periods


def cdr(party: Party, s: PricedSession, site: Site, segments: list[EnergySegment], *,
        version: TariffVersion, valid_until: datetime | None) -> dict[str, Any]:
    """CDR (§10.3.1) of a billable, priced session: total_cost is finance_sessions' cost."""
    return {
        "country_code": party.country_code, "party_id": party.party_id,
        "id": ocpi_id(s.session_id), "start_date_time": wire_time(s.started_at),
        "end_date_time": wire_time(s.ended_at), "session_id": ocpi_id(s.session_id),
        "cdr_token": token(party, s.id_tag), "auth_method": "WHITELIST",
        "cdr_location": _cdr_location(party, site, s), "currency": s.currency,
        "tariffs": [tariff(party, version, valid_until)],
        "charging_periods": charging_periods(s, segments),
        "total_cost": {"excl_vat": _money(s.cost_excl_vat), "incl_vat": _money(s.cost_incl_vat)},
        "total_fixed_cost": {"excl_vat": _money(s.session_fee)},
        "total_energy": s.billed_energy_wh / 1000,
        "total_energy_cost": {"excl_vat": _money(s.energy_cost)},
        "total_time": _hours(s.plugged_s), "total_time_cost": {"excl_vat": _money(s.time_cost)},
        "total_parking_time": _hours(s.idle_s),
        "total_parking_cost": {"excl_vat": _money(s.idle_cost)},
        "last_updated": wire_time(s.updated_at)}


def session(party: Party, s: PricedSession, site_id: str) -> dict[str, Any]:
    """Session (§9.3.1) of a live session, its cost so far."""
    connector = s.connector_id or 1
    return {
        "country_code": party.country_code, "party_id": party.party_id,
        "id": ocpi_id(s.session_id), "start_date_time": wire_time(s.started_at),
        "kwh": s.billed_energy_wh / 1000, "cdr_token": token(party, s.id_tag),
        "auth_method": "WHITELIST", "location_id": site_id,
        "evse_uid": evse_uid(s.charge_point_id, connector), "connector_id": str(connector),
        "currency": s.currency,
        "total_cost": {"excl_vat": _money(s.cost_excl_vat), "incl_vat": _money(s.cost_incl_vat)},
        "status": "ACTIVE", "last_updated": wire_time(s.updated_at)}


def evse_status(c: Connector) -> str:
    """Status (§8.4.22) from the charger's status (offline: UNKNOWN, "also used when
    offline") and its connector's latest OCPP status (none known: CHARGING while the charger
    has sessions, else AVAILABLE)."""
    if not c.charger_online:
        return "UNKNOWN"
    if c.status is None:
        return "CHARGING" if c.sessions_active > 0 else "AVAILABLE"
    return "CHARGING" if c.status in _IN_USE else _EVSE_STATUS[c.status]


def location(party: Party, site: Site, connectors: list[Connector],
             tariff_ids: list[str], last_updated: datetime) -> dict[str, Any]:
    """Location (§8.3.1) of a site, one EVSE (§8.3.2) per connector, each with one
    Connector (§8.3.3) priced by ``tariff_ids``."""
    evses = [{
        "uid": evse_uid(c.charge_point_id, c.connector_id),
        "evse_id": ocpi_id(f"{party.country_code}*{party.party_id}*E{c.charge_point_id}"
                           f"*{c.connector_id}", 48),
        "status": evse_status(c), "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE"],
        "connectors": [{"id": str(c.connector_id), "standard": site.connector_standard,
                        "format": site.connector_format, "power_type": site.power_type,
                        "max_voltage": site.max_voltage, "max_amperage": site.max_amperage,
                        "tariff_ids": tariff_ids, "last_updated": wire_time(c.updated_at)}],
        "last_updated": wire_time(c.updated_at)} for c in connectors]
    out: dict[str, Any] = {
        "country_code": party.country_code, "party_id": party.party_id, "id": site.site_id,
        "publish": True, "name": site.name, "address": site.address, "city": site.city,
        "country": site.country,
        "coordinates": {"latitude": site.latitude, "longitude": site.longitude},
        "evses": evses, "time_zone": site.time_zone, "last_updated": wire_time(last_updated)}
    if site.postal_code:
        out["postal_code"] = site.postal_code
    return out
