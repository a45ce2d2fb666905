"""Sites: where chargers stand, what OCPI calls a Location (OCPI 2.2.1 §8.3.1).

A site has an id, a name, an address, a country (ISO 3166-1 alpha-3, as OCPI's Location wants
it), WGS 84 coordinates (OCPI's GeoLocation text, §8.4.13), an IANA time zone — the one a
tariff's time-of-day bands are read in — and the charge point ids that belong to it, each in at
most one site. A charger in no site belongs to the **default site** (``DEFAULT_SITE``): the
site of that id when one was added (its address and time zone; it lists no chargers), else an
implicit one in UTC with no address.

The connector facts OCPI needs and OCPP does not tell (standard, format, power type, voltage,
amperage) are per site, with defaults for a European AC site.

Pure: parsing and checking what a user typed, ``ConfigError`` naming the bad value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from canonical.errors import ConfigError
from canonical.tariffs import check_charge_point_id, check_reference_id, csv_rows

DEFAULT_SITE = "default"
_LATITUDE = re.compile(r"-?[0-9]{1,2}\.[0-9]{5,7}")  # OCPI GeoLocation (§8.4.13)
_LONGITUDE = re.compile(r"-?[0-9]{1,3}\.[0-9]{5,7}")
_COUNTRY = re.compile(r"[A-Z]{3}")
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")
# OCPI 2.2.1 §8.4.5 / §8.4.4 / §8.4.19: the values chargeline lets a site declare.
CONNECTOR_STANDARDS = ("CHADEMO", "DOMESTIC_F", "GBT_AC", "GBT_DC", "IEC_62196_T1",
                       "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "TESLA_S")
CONNECTOR_FORMATS = ("SOCKET", "CABLE")
POWER_TYPES = ("AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC")
SITE_FIELDS = ("site_id", "name", "address", "city", "postal_code", "country", "latitude",
               "longitude", "time_zone", "charge_point_ids", "connector_standard",
               "connector_format", "power_type", "max_voltage", "max_amperage")


@dataclass(frozen=True, slots=True)
class Site:
    """One site. ``charge_point_ids`` sorted; text fields as OCPI's Location holds them."""

    site_id: str
    name: str
    address: str
    city: str
    postal_code: str
    country: str
    latitude: str
    longitude: str
    time_zone: str
    charge_point_ids: tuple[str, ...] = ()
    connector_standard: str = "IEC_62196_T2"
    connector_format: str = "SOCKET"
    power_type: str = "AC_3_PHASE"
    max_voltage: int = 230
    max_amperage: int = 32


def check_text(value: str, what: str, longest: int, required: bool = True) -> str:
    """OCPI ``string(n)`` (§16.7): printable UTF-8, no control characters, at most ``longest``;
    surrounding spaces dropped. A leading ``=``, ``+``, ``-`` or ``@`` is refused too: these
    texts end up in CSVs and spreadsheets."""
    text = value.strip()
    if required and not text:
        raise ConfigError(f"{what} is required")
    if len(text) > longest:
        raise ConfigError(f"{what} must be at most {longest} characters, got {len(text)}: "
                          f"{text[:40]!r}")
    if not text.isprintable():
        raise ConfigError(f"{what} must be printable text without control characters: "
                          f"{text[:40]!r}")
    if text[:1] in ("=", "+", "-", "@"):
        raise ConfigError(f"{what} must not start with {text[0]!r} (a spreadsheet formula): "
                          f"{text[:40]!r}")
    return text


def check_time_zone(text: str) -> str:
    """An IANA time zone name the system knows (``Europe/Berlin``, ``UTC``)."""
    name = text.strip()
    if not _ZONE.fullmatch(name) or ".." in name:
        raise ConfigError(f"time zone must be an IANA name such as Europe/Berlin: {name[:40]!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown IANA time zone {name[:40]!r}") from None
    return name


def _choice(text: str, what: str, valid: tuple[str, ...]) -> str:
    value = text.strip().upper()
    if value not in valid:
        raise ConfigError(f"unknown {what} {text[:40]!r}; valid: {', '.join(valid)}")
    return value


def _whole(text: str, what: str, low: int, high: int) -> int:
    value = text.strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise ConfigError(f"{what} must be a whole number from {low} to {high}: {value[:40]!r}")
    return int(value)


def parse_site(fields: dict[str, str | None]) -> Site:
    """A checked ``Site`` from text fields named as ``SITE_FIELDS``; ``charge_point_ids`` is
    separated by spaces or ``;``. Empty connector fields take the defaults."""
    def text(name: str) -> str:
        return (fields.get(name) or "").strip()

    site_id = check_reference_id(text("site_id"), "site id")
    ids = tuple(sorted({check_charge_point_id(c) for c in re.split(r"[;\s]+",
                                                                  text("charge_point_ids")) if c}))
    if site_id == DEFAULT_SITE and ids:
        raise ConfigError("the default site holds every charger in no other site; it lists "
                          "no charge point ids")
    latitude, longitude = text("latitude"), text("longitude")
    if not _LATITUDE.fullmatch(latitude) or abs(float(latitude)) > 90:
        raise ConfigError(f"latitude must be decimal degrees with 5-7 decimals, e.g. "
                          f"52.37403: {latitude[:40]!r}")
    if not _LONGITUDE.fullmatch(longitude) or abs(float(longitude)) > 180:
        raise ConfigError(f"longitude must be decimal degrees with 5-7 decimals, e.g. "
                          f"4.88969: {longitude[:40]!r}")
    if not _COUNTRY.fullmatch(text("country")):
        raise ConfigError(f"country must be an ISO 3166-1 alpha-3 code, e.g. NLD: "
                          f"{text('country')[:40]!r}")
    return Site(
        site_id=site_id, name=check_text(text("name"), "name", 255),
        address=check_text(text("address"), "address", 45),
        city=check_text(text("city"), "city", 45),
        postal_code=check_text(text("postal_code"), "postal code", 10, required=False),
        country=text("country"), latitude=latitude, longitude=longitude,
        time_zone=check_time_zone(text("time_zone") or "UTC"), charge_point_ids=ids,
        connector_standard=_choice(text("connector_standard") or "IEC_62196_T2",
                                   "connector standard", CONNECTOR_STANDARDS),
        connector_format=_choice(text("connector_format") or "SOCKET", "connector format",
                                 CONNECTOR_FORMATS),
        power_type=_choice(text("power_type") or "AC_3_PHASE", "power type", POWER_TYPES),
        max_voltage=_whole(text("max_voltage") or "230", "max voltage", 1, 2000),
        max_amperage=_whole(text("max_amperage") or "32", "max amperage", 1, 2000))


def sites_from_csv(lines: Iterable[str]) -> list[Site]:
    """The sites of a CSV file (header: ``SITE_FIELDS``), every line checked: ConfigError
    naming the line at the first bad one, so a caller writes all or nothing."""
    out = []
    for line, row in csv_rows(lines, SITE_FIELDS):
        try:
            out.append(parse_site(row))
        except ConfigError as exc:
            raise ConfigError(f"line {line}: {exc}") from None
    return out


def check_sites(sites: Iterable[Site]) -> None:
    """A charger belongs to at most one site; a site id is listed once."""
    owner: dict[str, str] = {}
    seen: set[str] = set()
    for site in sites:
        if site.site_id in seen:
            raise ConfigError(f"site {site.site_id!r} is listed twice")
        seen.add(site.site_id)
        for cp_id in site.charge_point_ids:
            other = owner.setdefault(cp_id, site.site_id)
            if other != site.site_id:
                raise ConfigError(f"charge point {cp_id!r} is in site {other!r} already; "
                                  f"remove it there first")
