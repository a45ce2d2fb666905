"""Tariffs as data: what a charging session costs, versioned with validity dates.

A tariff (``tariff_id``) applies to one *scope*: one charger, one site (``canonical.sites``)
or everything else (``default``); the most specific scope with a version in force wins
(charger > site > default). A tariff has versions 1, 2, ...; each has ``valid_from``
(inclusive) and an optional ``valid_to`` (exclusive), UTC. The version that prices a session is
the one in force at the session's **start** (as OCPI 2.2.1 §11.3.1 recommends): of the
tariff's versions with ``valid_from`` at or before the start, the one with the latest
``valid_from`` (then the highest version number) — unless its ``valid_to`` has passed, when the
tariff prices nothing at that time. So a new version supersedes the older ones from its
``valid_from`` on, and a corrected version (same ``valid_from``) supersedes the one it corrects.

Components, all prices **excluding VAT**, at most 4 decimals (OCPI's number type, §16.4):

- energy per kWh: ``energy_per_kwh``, or by local time-of-day band (``EnergyBand``; the time
  outside every band costs ``energy_per_kwh``); bands are in the site's IANA time zone;
- time per hour of *charging* (``time_per_hour``; OCPI's ``TIME`` dimension);
- idle fee per hour of plugged-but-not-charging time past ``idle_grace_min`` minutes
  (``idle_per_hour``; OCPI's ``PARKING_TIME``);
- a flat ``session_fee`` (OCPI's ``FLAT``);
- ``currency`` (ISO 4217, one with 2 minor units: the cent), ``vat_pct`` (percent, 2 decimals).

Everything here is pure: parsing and checking values a user typed (``ConfigError`` naming the
bad value), never a clock or a file. ``warehouse.reference`` stores the versions, the SQL in
``warehouse/sql`` prices sessions with them (see docs/tariffs.md for the rounding rule).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from canonical.errors import ConfigError

MINUTES_PER_DAY = 1440
REFERENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,35}")  # an OCPI CiString(36) subset
CHARGE_POINT_ID = re.compile(r"[A-Za-z0-9._\-*#@+]{1,48}")  # as ingest.admission admits them
_PRICE = re.compile(r"\d{1,7}(\.\d{1,4})?")
_VAT = re.compile(r"\d{1,2}(\.\d{1,2})?")
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_CURRENCY = re.compile(r"[A-Z]{3}")
# ISO 4217 currencies whose minor unit is not the cent: refused, as every amount is rounded
# to the cent (docs/tariffs.md).
NOT_CENT_CURRENCIES = frozenset({"BHD", "BIF", "CLF", "CLP", "DJF", "GNF", "IQD", "ISK", "JOD",
                                 "JPY", "KMF", "KRW", "KWD", "LYD", "OMR", "PYG", "RWF", "TND",
                                 "UGX", "UYI", "UYW", "VND", "VUV", "XAF", "XOF", "XPF"})


class TariffScope(StrEnum):
    """What a tariff applies to; precedence charger > site > default."""

    charger = "charger"
    site = "site"
    default = "default"


@dataclass(frozen=True, slots=True)
class EnergyBand:
    """An energy price for the local times of day ``[start_minute, end_minute)`` (minutes
    after local midnight, ``end_minute`` up to 1440)."""

    start_minute: int
    end_minute: int
    price_per_kwh: Decimal

    def label(self) -> str:
        return f"{clock(self.start_minute)}-{clock(self.end_minute % MINUTES_PER_DAY)}"


@dataclass(frozen=True, slots=True)
class TariffVersion:
    """One version of a tariff. ``scope_id`` is the charge point id or site id (None for the
    default scope); times are UTC; prices exclude VAT; None means the component is absent."""

    tariff_id: str
    version: int
    scope: TariffScope
    scope_id: str | None
    valid_from: datetime
    valid_to: datetime | None
    currency: str
    vat_pct: Decimal
    energy_per_kwh: Decimal | None = None
    energy_bands: tuple[EnergyBand, ...] = ()
    time_per_hour: Decimal | None = None
    idle_per_hour: Decimal | None = None
    idle_grace_min: int = 0
    session_fee: Decimal | None = None

    def day_prices(self) -> tuple[EnergyBand, ...]:
        """The energy price over the whole local day, in order: the bands, and the time
        between them at ``energy_per_kwh``. Empty when energy is free of charge."""
        if self.energy_per_kwh is None:
            return ()
        out: list[EnergyBand] = []
        at = 0
        for band in sorted(self.energy_bands, key=lambda b: b.start_minute):
            if band.start_minute > at:
                out.append(EnergyBand(at, band.start_minute, self.energy_per_kwh))
            out.append(band)
            at = band.end_minute
        if at < MINUTES_PER_DAY:
            out.append(EnergyBand(at, MINUTES_PER_DAY, self.energy_per_kwh))
        return tuple(out)

    def target(self) -> tuple[TariffScope, str | None]:
        return self.scope, self.scope_id


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def check_reference_id(value: str, what: str) -> str:
    """``value`` if it is 1-36 of ``[A-Za-z0-9._-]`` starting alphanumeric, else ConfigError."""
    if not REFERENCE_ID.fullmatch(value):
        raise ConfigError(f"{what} must be 1-36 of [A-Za-z0-9._-], starting with a letter or "
                          f"digit: {value[:40]!r}")
    return value


def check_charge_point_id(value: str) -> str:
    if not CHARGE_POINT_ID.fullmatch(value) or ".." in value:
        raise ConfigError(f"charge point id must be 1-48 of [A-Za-z0-9._-*#@+]: {value[:60]!r}")
    return value


def parse_price(text: str, what: str) -> Decimal:
    """A price as typed (``0.39``, ``12``): at most 7 digits and 4 decimals, never negative,
    never an exponent, NaN or infinity."""
    if not _PRICE.fullmatch(text.strip()):
        raise ConfigError(f"{what} must be a decimal number with at most 4 decimals, e.g. "
                          f"0.3900: {text[:40]!r}")
    return Decimal(text.strip())


def parse_optional_price(text: str | None, what: str) -> Decimal | None:
    return None if text is None or not text.strip() else parse_price(text, what)


def parse_vat(text: str) -> Decimal:
    if not _VAT.fullmatch(text.strip()):
        raise ConfigError(f"VAT must be a percentage from 0 to 99.99 with at most 2 decimals, "
                          f"e.g. 19 or 25.5: {text[:40]!r}")
    return Decimal(text.strip())


def parse_currency(text: str) -> str:
    code = text.strip()
    if not _CURRENCY.fullmatch(code):
        raise ConfigError(f"currency must be an ISO 4217 code of 3 capital letters, e.g. EUR: "
                          f"{text[:40]!r}")
    if code in NOT_CENT_CURRENCIES:
        raise ConfigError(f"currency {code} does not have the cent as its minor unit; "
                          "chargeline rounds every amount to the cent")
    return code


def parse_instant(text: str, what: str) -> datetime:
    """An ISO 8601 date-time with its offset (``2026-01-01T00:00:00+01:00``, ``...Z``), or a
    date (``2026-01-01``: midnight UTC); as UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{what} is not an ISO 8601 date or date-time: {text[:40]!r}") from None
    if at.tzinfo is None:
        raise ConfigError(f"{what} {text[:40]!r} has no UTC offset (add Z or +HH:MM)")
    return at.astimezone(UTC)


def parse_band(text: str) -> list[EnergyBand]:
    """``HH:MM-HH:MM=PRICE`` (local time; an end of ``00:00`` is midnight, a band that wraps
    past midnight is split in two)."""
    window, sep, price_text = text.strip().partition("=")
    start_text, dash, end_text = window.partition("-")
    start, end = _CLOCK.fullmatch(start_text.strip()), _CLOCK.fullmatch(end_text.strip())
    if not sep or not dash or start is None or end is None:
        raise ConfigError(f"energy band must be HH:MM-HH:MM=PRICE, e.g. 07:00-23:00=0.45: "
                          f"{text[:60]!r}")
    price = parse_price(price_text, "band price")
    first = int(start[1]) * 60 + int(start[2])
    last = int(end[1]) * 60 + int(end[2]) or MINUTES_PER_DAY
    if first == last % MINUTES_PER_DAY:
        raise ConfigError(f"energy band {text[:60]!r} is empty or the whole day "
                          "(use the energy price for the whole day)")
    if first < last:
        return [EnergyBand(first, last, price)]
    return [EnergyBand(first, MINUTES_PER_DAY, price), EnergyBand(0, last, price)]


def parse_bands(texts: list[str]) -> tuple[EnergyBand, ...]:
    """Bands from their texts, checked not to overlap."""
    bands = sorted((b for t in texts if t.strip() for b in parse_band(t)),
                   key=lambda b: b.start_minute)
    for before, after in pairwise(bands):
        if after.start_minute < before.end_minute:
            raise ConfigError(f"energy bands {before.label()} and {after.label()} overlap")
    return tuple(bands)


def parse_grace(text: str | None) -> int:
    value = (text or "").strip() or "0"
    if not value.isdigit() or len(value) > 5:
        raise ConfigError(f"idle grace must be whole minutes, e.g. 30: {value[:40]!r}")
    return int(value)


def parse_scope(text: str, scope_id: str | None) -> tuple[TariffScope, str | None]:
    """``charger`` + a charge point id, ``site`` + a site id, or ``default`` (no id)."""
    try:
        scope = TariffScope(text.strip())
    except ValueError:
        raise ConfigError(f"unknown tariff scope {text[:40]!r}; valid: "
                          f"{', '.join(s.value for s in TariffScope)}") from None
    target = (scope_id or "").strip() or None
    if scope is TariffScope.default:
        if target is not None:
            raise ConfigError(f"the default scope takes no id, got {target[:40]!r}")
        return scope, None
    if target is None:
        raise ConfigError(f"a {scope.value} tariff needs the {scope.value} id")
    if scope is TariffScope.charger:
        return scope, check_charge_point_id(target)
    return scope, check_reference_id(target, "site id")


TARIFF_FIELDS = ("tariff_id", "scope", "scope_id", "valid_from", "valid_to", "currency",
                 "vat_pct", "energy_per_kwh", "energy_bands", "time_per_hour", "idle_per_hour",
                 "idle_grace_min", "session_fee")


def parse_tariff(fields: dict[str, str | None], version: int = 0) -> TariffVersion:
    """A checked ``TariffVersion`` from text fields named as ``TARIFF_FIELDS`` (empty optional
    fields: the component is absent). ``energy_bands`` is ``;``-separated ``HH:MM-HH:MM=PRICE``.
    ``version`` 0: the store numbers it."""
    def text(name: str) -> str:
        return (fields.get(name) or "").strip()

    scope, scope_id = parse_scope(text("scope") or "default", text("scope_id") or None)
    valid_from = parse_instant(text("valid_from"), "valid_from")
    valid_to = parse_instant(text("valid_to"), "valid_to") if text("valid_to") else None
    if valid_to is not None and valid_to <= valid_from:
        raise ConfigError(f"valid_to {valid_to.isoformat()} is not after valid_from "
                          f"{valid_from.isoformat()}")
    bands = parse_bands(text("energy_bands").split(";"))
    energy = parse_optional_price(text("energy_per_kwh"), "energy_per_kwh")
    if bands and energy is None:
        raise ConfigError("energy bands need energy_per_kwh: the price outside the bands")
    tariff = TariffVersion(
        tariff_id=check_reference_id(text("tariff_id"), "tariff id"), version=version,
        scope=scope, scope_id=scope_id, valid_from=valid_from, valid_to=valid_to,
        currency=parse_currency(text("currency") or "EUR"), vat_pct=parse_vat(text("vat_pct")),
        energy_per_kwh=energy, energy_bands=bands,
        time_per_hour=parse_optional_price(text("time_per_hour"), "time_per_hour"),
        idle_per_hour=parse_optional_price(text("idle_per_hour"), "idle_per_hour"),
        idle_grace_min=parse_grace(text("idle_grace_min")),
        session_fee=parse_optional_price(text("session_fee"), "session_fee"))
    if tariff.idle_per_hour is None and tariff.idle_grace_min:
        raise ConfigError("idle_grace_min without idle_per_hour: there is no idle fee to delay")
    return tariff


def tariffs_from_csv(lines: Iterable[str]) -> list[TariffVersion]:
    """The tariff versions of a CSV file (header: ``TARIFF_FIELDS``), in file order, every line
    checked: ConfigError naming the line and its bad value at the first bad one, so a caller
    writes all or nothing."""
    out = []
    for line, row in csv_rows(lines, TARIFF_FIELDS):
        try:
            out.append(parse_tariff(row))
        except ConfigError as exc:
            raise ConfigError(f"line {line}: {exc}") from None
    return out


def csv_rows(lines: Iterable[str],
             header: tuple[str, ...]) -> list[tuple[int, dict[str, str | None]]]:
    """(line number, fields) of each row of a CSV with exactly ``header``; a ConfigError
    names the line of a malformed one."""
    rows = csv.reader(lines, strict=True)
    out: list[tuple[int, dict[str, str | None]]] = []
    try:
        first = next(rows, None)
        if first is None or [h.strip() for h in first] != list(header):
            raise ConfigError(f"line 1: header must be {','.join(header)!r}, got "
                              f"{','.join(first or [])[:120]!r}")
        for row in rows:
            if not row:
                continue
            if len(row) != len(header):
                raise ConfigError(f"line {rows.line_num}: expected {len(header)} fields, "
                                  f"got {len(row)}: {','.join(row)[:80]!r}")
            out.append((rows.line_num, dict(zip(header, row, strict=True))))
    except csv.Error as exc:
        raise ConfigError(f"line {rows.line_num}: {exc}") from None
    return out


def check_versions(versions: Iterable[TariffVersion]) -> None:
    """Rules across versions (ConfigError otherwise): a tariff keeps one scope over its
    versions, and a scope target (one charger, one site, the default) has one tariff."""
    targets: dict[tuple[TariffScope, str | None], str] = {}
    scopes: dict[str, tuple[TariffScope, str | None]] = {}
    for v in versions:
        known = scopes.setdefault(v.tariff_id, v.target())
        if known != v.target():
            raise ConfigError(f"tariff {v.tariff_id!r} applies to {_target(known)}; a version "
                              f"cannot move it to {_target(v.target())}")
        owner = targets.setdefault(v.target(), v.tariff_id)
        if owner != v.tariff_id:
            raise ConfigError(f"{_target(v.target())} already has tariff {owner!r}; add a "
                              f"version of it instead of tariff {v.tariff_id!r}")


def _target(target: tuple[TariffScope, str | None]) -> str:
    scope, scope_id = target
    return "the default scope" if scope_id is None else f"{scope.value} {scope_id!r}"


class CostMissing(StrEnum):
    """Why a session has no cost (``session_costs.cost_missing_reason``): never a 0."""

    no_start_time = "no_start_time"
    no_energy = "no_energy"
    negative_energy = "negative_energy"
    no_tariff = "no_tariff"


@dataclass(frozen=True, slots=True)
class SessionCost:
    """A session's cost and its breakdown (columns of ``session_costs``). Amounts in
    ``currency``, 2 decimals; all None with ``missing`` set when it cannot be priced."""

    site_id: str
    tariff_id: str | None
    tariff_version: int | None
    currency: str | None
    billed_energy_wh: int | None
    plugged_s: int
    charging_s: int
    idle_s: int
    billed_idle_s: int
    energy_cost: Decimal | None
    time_cost: Decimal | None
    idle_cost: Decimal | None
    session_fee: Decimal | None
    cost_excl_vat: Decimal | None
    vat: Decimal | None
    cost_incl_vat: Decimal | None
    missing: CostMissing | None
