"""Validation of OCPI 2.2.1 objects against ``schemas/ocpi-2.2.1.json`` (jsonschema, draft
2020-12). ``problems`` lists every violation with its path, so a test or an export can say
which object broke which rule."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).parent / "schemas" / "ocpi-2.2.1.json"


class OcpiObject(StrEnum):
    """The top-level objects, named as the schema's ``$defs``."""

    cdr = "CDR"
    session = "Session"
    location = "Location"
    tariff = "Tariff"


@cache
def _validator(kind: OcpiObject) -> jsonschema.protocols.Validator:
    document = json.loads(SCHEMA_PATH.read_text())
    schema = {**document, "$ref": f"#/$defs/{kind.value}"}
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def problems(kind: OcpiObject, obj: Any) -> list[str]:
    """Every way ``obj`` breaks the schema of ``kind`` (empty when valid)."""
    errors = sorted(_validator(kind).iter_errors(obj), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(object)'}: {e.message}" for e in errors]
