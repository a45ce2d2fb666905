"""The CSMS-initiated actions chargeline may send, per protocol, and the check of a command's
payload against the action's JSON schema before anything is sent.

The actions are the ``ocpp`` library's schemas less what chargers send (the answer tables of
``csms_v16``/``csms_v201``), plus DataTransfer, which goes both ways: every CSMS-initiated
action of 1.6 (Core, Firmware, Local Auth List, Remote Trigger, Reservation, Smart Charging,
the security whitepaper's), of 2.0.1 and of 2.1 (its 2.0.1 ones plus the tariffs, DER control,
periodic event streams, battery swap, priority charging, dynamic schedules, web payment and
aFRR signal actions: 55 in all, DataTransfer counted).
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from importlib.resources import files
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from canonical.enums import Protocol
from ingest import csms_v16, csms_v21, csms_v201

_SCHEMAS = {Protocol.v16: ("v16", ".json"), Protocol.v201: ("v201", "Request.json"),
            Protocol.v21: ("v21", "Request.json")}
_CHARGER_INITIATED = {Protocol.v16: set(csms_v16.HANDLERS), Protocol.v201: set(csms_v201.HANDLERS),
                      Protocol.v21: set(csms_v21.HANDLERS) | csms_v21.SEND_ACTIONS}
_BOTH_WAYS = {"DataTransfer"}


class PayloadRefused(ValueError):
    """A command that must not be sent; the message says why, in one line."""


@functools.cache
def csms_actions(protocol: Protocol) -> frozenset[str]:
    """Every action a central system may send to a charger of ``protocol``."""
    folder, suffix = _SCHEMAS[protocol]
    names = {p.name.removesuffix(suffix) for p in files("ocpp").joinpath(folder, "schemas")
             .iterdir() if p.name.endswith(suffix) and not p.name.endswith("Response.json")}
    return frozenset((names - _CHARGER_INITIATED[protocol]) | _BOTH_WAYS)


@functools.cache
def _validator(protocol: Protocol, action: str) -> Draft4Validator:
    folder, suffix = _SCHEMAS[protocol]
    text = files("ocpp").joinpath(folder, "schemas", action + suffix).read_text("utf-8-sig")
    # decimals: 1.6 charging schedules allow one decimal place ("multipleOf": 0.1), which a
    # binary float like 21.4 fails (the ocpp library does the same)
    return Draft4Validator(json.loads(text, parse_float=Decimal))


def check(protocol: Protocol, action: str, payload: Any) -> None:
    """Raise PayloadRefused unless ``payload`` is a valid ``action`` request for ``protocol``."""
    if action not in csms_actions(protocol):
        raise PayloadRefused(f"{action!r} is not an action a central system sends in "
                             f"{protocol.value}")
    if not isinstance(payload, dict):
        raise PayloadRefused(f"the payload of {action} must be a JSON object")
    exact = json.loads(json.dumps(payload), parse_float=Decimal)
    error = next(iter(sorted(_validator(protocol, action).iter_errors(exact),
                             key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        raise PayloadRefused(f"{action} payload is not valid {protocol.value}: "
                             f"{_where(error)}{error.message}")


def _where(error: ValidationError) -> str:
    path = "/".join(str(p) for p in error.absolute_path)
    return f"at {path}: " if path else ""
