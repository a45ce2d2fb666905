"""Valid OCPP 2.1 requests made from the OCA's JSON schemas (as the ``ocpp`` package ships
them): the smallest (required properties only) and the fullest (every property, arrays at their
minimum length but one). A generator, not a fixture: every schema gets its examples, so a new
action cannot go untested."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import ocpp
from jsonschema import Draft6Validator, FormatChecker

from tests.ingest.test_answers import CHARGER_INITIATED_201

SCHEMAS = Path(ocpp.__file__).parent / "v21" / "schemas"
WHEN = "2026-03-02T08:00:00.000Z"

# The charger-initiated messages of OCPP 2.1 (Part 2, the Request schemas a charging station
# sends): 2.0.1's 25 plus 11 new CALLs, and NotifyPeriodicEventStream, a SEND.
CHARGER_CALLS = frozenset(CHARGER_INITIATED_201) | {
    "BatterySwap", "ClosePeriodicEventStream", "GetCertificateChainStatus", "NotifyDERAlarm",
    "NotifyDERStartStop", "NotifyPriorityCharging", "NotifySettlement",
    "OpenPeriodicEventStream", "PullDynamicScheduleUpdate", "ReportDERControl",
    "VatNumberValidation"}  # 2.0.1's and, new in 2.1, these
CHARGER_SENDS = frozenset({"NotifyPeriodicEventStream"})


@cache
def schema(name: str) -> dict[str, Any]:
    """``name`` is the file name without ``.json`` (``BootNotificationRequest``)."""
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.json").read_text("utf-8-sig"))
    return loaded


def validator(name: str) -> Draft6Validator:
    return Draft6Validator(schema(name), format_checker=FormatChecker())


def examples(name: str) -> list[dict[str, Any]]:
    """The smallest and the fullest valid instance of schema ``name``."""
    root = schema(name)
    return [_instance(root, root, full) for full in (False, True)]


def _instance(node: dict[str, Any], root: dict[str, Any], full: bool) -> Any:
    if "$ref" in node:
        return _instance(root["definitions"][node["$ref"].rsplit("/", 1)[1]], root, full)
    if "enum" in node:
        return node["enum"][-1 if full else 0]
    kind = node.get("type")
    if kind == "object":
        keys = node.get("properties", {}) if full else node.get("required", [])
        return {k: _instance(node["properties"][k], root, full) for k in keys}
    if kind == "array":
        count = max(1, node.get("minItems", 1)) + (1 if full else 0)
        count = min(count, node.get("maxItems", count))
        return [_instance(node["items"], root, full) for _ in range(count)]
    return _scalar(node, kind, full)


def _scalar(node: dict[str, Any], kind: Any, full: bool) -> Any:
    if kind == "string":
        if node.get("format") == "date-time":
            return WHEN
        size = max(node.get("minLength", 1), min(node.get("maxLength", 8), 8 if full else 1))
        return "x" * size
    if kind in ("integer", "number"):
        wanted = max(node.get("minimum", 0), (1 if kind == "integer" else 2.5) if full else 0)
        wanted = min(wanted, node.get("maximum", wanted))
        return int(wanted) if kind == "integer" else float(wanted)
    if kind == "boolean":
        return full
    return {}
