"""Reading frame text as JSON: orjson, and the standard library for the one thing orjson
refuses that JSON allows.

JSON's grammar has no limit on a number's size (RFC 8259, section 6, leaves the range to
implementations); orjson refuses one beyond a double's range (``1e400``: "number is infinity
when parsed as double"). A charger sending one in a meter value must still get its answer
(a StartTransaction refused with a FormationViolation gets no transactionId and is retried
forever), so such text is read by the standard library instead and the number becomes
``±inf``, which the adapters treat as an unreadable value. Everything else orjson refuses
(bad UTF-8, a lone surrogate, ``NaN``) stays refused.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["JSONDecodeError", "loads"]

JSONDecodeError = orjson.JSONDecodeError  # a ValueError


def loads(text: str | bytes) -> Any:
    """The JSON value of ``text``; ``JSONDecodeError`` when it is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if not str(exc).startswith("number is infinity"):
            raise
        try:
            value = json.loads(text, parse_constant=_refuse)
            _text_only(value)
        except (ValueError, RecursionError):
            raise exc from None
        return value


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _text_only(value: Any) -> None:
    """The standard library admits a lone surrogate (``"\\ud800"``), which no UTF-8 text,
    Arrow string or Parquet file can hold: refused, as orjson refuses it."""
    if isinstance(value, str):
        value.encode("utf-8")  # UnicodeEncodeError is a ValueError
    elif isinstance(value, dict):
        for key, item in value.items():
            _text_only(key)
            _text_only(item)
    elif isinstance(value, list):
        for item in value:
            _text_only(item)
