"""What must hold in the warehouse, one suite per view. Plain data; runner.py builds the
great-expectations objects, so this reads as a list of rules.

Each rule is ``(expectation class name, keyword arguments)``. Values sets come from the
canonical enums, so a new alert kind or status is known here the moment it exists.
"""

from __future__ import annotations

from typing import Any

from canonical.enums import (
    AlertKind,
    Direction,
    EventType,
    ParseStatus,
    Protocol,
    RecordKind,
    SessionStatus,
    Severity,
)

Rule = tuple[str, dict[str, Any]]

# The units canonical events carry (SI base units; see canonical/events.py).
KNOWN_UNITS = ["Wh", "W", "A", "V", "Percent", "Celsius", "Hz", "VArh", "VAr", "s"]


def _values(enum: Any) -> list[Any]:
    return [member.value for member in enum]


def _not_null(*columns: str) -> list[Rule]:
    return [("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


def _non_negative(*columns: str) -> list[Rule]:
    return [("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0}) for c in columns]


def _a_at_least_b(a: str, b: str) -> Rule:
    return ("ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": a, "column_B": b, "or_equal": True,
             "ignore_row_if": "either_value_is_missing"})


def _in_set(column: str, values: list[Any]) -> Rule:
    return ("ExpectColumnValuesToBeInSet", {"column": column, "value_set": values})


SUITES: dict[str, list[Rule]] = {
    "sessions": [
        *_not_null("session_id", "charge_point_id", "version", "status", "energy_rule"),
        ("ExpectColumnValuesToBeUnique", {"column": "session_id"}),
        _in_set("status", _values(SessionStatus)),
        *_non_negative("energy_wh", "meter_start_wh", "meter_stop_wh", "samples_energy_wh",
                       "sample_count"),
        _a_at_least_b("stopped_at", "started_at"),
        _a_at_least_b("meter_stop_wh", "meter_start_wh"),
        ("ExpectColumnValuesToBeBetween", {"column": "version", "min_value": 1}),
    ],
    "events": [
        *_not_null("event_id", "event_type", "frame_id", "charge_point_id",
                   "server_received_at"),
        ("ExpectColumnValuesToBeUnique", {"column": "event_id"}),
        _in_set("event_type", _values(EventType)),
        _in_set("unit", KNOWN_UNITS),
        *_non_negative("meter_wh"),
    ],
    "frames": [
        *_not_null("frame_id", "received_at", "charge_point_id", "raw"),
        ("ExpectColumnValuesToBeUnique", {"column": "frame_id"}),
        _in_set("direction", _values(Direction)),
        _in_set("record_kind", _values(RecordKind)),
        _in_set("parse_status", _values(ParseStatus)),
        _in_set("protocol", [*_values(Protocol), ""]),  # "" before negotiation
        _in_set("message_type", [2, 3, 4]),
    ],
    "alerts": [
        *_not_null("alert_id", "kind", "charge_point_id", "detected_at"),
        ("ExpectColumnValuesToBeUnique", {"column": "alert_id"}),
        _in_set("kind", _values(AlertKind)),
        _in_set("severity", _values(Severity)),
    ],
}

# Columns read for each suite (``raw`` payloads are only checked for presence).
COLUMNS: dict[str, str] = {
    "frames": "* replace (case when raw is not null then '' end as raw)",
}
