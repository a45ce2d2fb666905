"""Lenient readers for payload fields, and unit conversion to SI base units.

Chargers send numbers as strings and strings as numbers (Q26); these readers accept both and
return None, never raise, when a value has no sensible reading.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from canonical.enums import TimestampIssue, ValueIssue

Issue = TypeVar("Issue", ValueIssue, TimestampIssue)

#: Transaction ids chargers send when they have none (Q7, Q16, Q17, Q18).
PLACEHOLDER_TX_IDS = frozenset({"-1", "0", str(2**63 - 1)})

#: unit as sent (lower case) → (SI base unit, factor). Temperatures are handled apart.
_UNITS: dict[str, tuple[str, float]] = {
    "wh": ("Wh", 1.0), "kwh": ("Wh", 1000.0), "mwh": ("Wh", 1_000_000.0),
    "varh": ("varh", 1.0), "kvarh": ("varh", 1000.0),
    "w": ("W", 1.0), "kw": ("W", 1000.0), "var": ("var", 1.0), "kvar": ("var", 1000.0),
    "a": ("A", 1.0), "ma": ("A", 0.001), "da": ("A", 0.1), "v": ("V", 1.0), "kv": ("V", 1000.0),
    "percent": ("Percent", 1.0), "%": ("Percent", 1.0), "celsius": ("Celsius", 1.0),
    "hz": ("Hz", 1.0), "s": ("s", 1.0),
}

#: measurand prefix → unit assumed when none is sent (the spec says Wh; that fits energy only).
_DEFAULT_UNITS = (
    ("Energy.Reactive", "varh"), ("Energy", "Wh"), ("Power.Reactive", "var"),
    ("Power.Factor", ""), ("Power", "W"), ("Current", "A"), ("Voltage", "V"),
    ("SoC", "Percent"), ("Frequency", "Hz"), ("Temperature", "Celsius"), ("RPM", ""),
)


def to_float(value: Any) -> float | None:
    """A finite float from a number or a numeric string (``"5.146"``, ``" 12 "``, ``"5,1"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value) if abs(value) < 1e300 else math.inf
    elif isinstance(value, str) and len(value) < 64:
        try:
            number = float(value)
        except ValueError:
            try:
                number = float(value.strip().replace(",", ".", 1))
            except ValueError:
                return None
    else:
        return None
    return number if math.isfinite(number) else None


def to_int(value: Any) -> int | None:
    """An int from an int, an integral float, or a string of one; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    number = to_float(value)
    if number is None or not number.is_integer() or abs(number) > 2**63:
        return None
    return int(number)


def to_text(value: Any, limit: int = 500) -> str | None:
    """A string for a scalar (numbers as text), None for missing, ``"null"`` and containers."""
    if value is None or isinstance(value, dict | list):
        return None
    text = value if isinstance(value, str) else str(value)
    if text in ("", "null", "None"):
        return None
    return text[:limit]


def tx_id_of(value: Any) -> tuple[str | None, str | None]:
    """(transaction key, raw id as text). The key is None for placeholders and for absence."""
    raw = to_text(value)
    if raw is None:
        return None, None
    number = to_int(raw)
    key = str(number) if number is not None else raw.strip()
    return (None if key in PLACEHOLDER_TX_IDS else key), raw


def default_unit(measurand: str) -> str:
    for prefix, unit in _DEFAULT_UNITS:
        if measurand.startswith(prefix):
            return unit
    return "Wh"


def to_si(value: float, unit: str) -> tuple[float, str, bool]:
    """(value in the SI base unit, that unit, whether the unit was known)."""
    key = unit.lower()
    if key in ("fahrenheit", "f"):
        return (value - 32.0) * 5.0 / 9.0, "Celsius", True
    if key in ("k", "kelvin"):
        return value - 273.15, "Celsius", True
    known = _UNITS.get(key)
    if known is None:
        return value, unit, False
    return value * known[1], known[0], True


def add_issue(current: tuple[Issue, ...], issue: Issue) -> tuple[Issue, ...]:
    """Issues (value or timestamp) accumulate as a set, in the order found."""
    # concatenation, not (*current, issue): mypy cannot type that for a constrained TypeVar
    return current if issue in current else current + (issue,)  # noqa: RUF005
