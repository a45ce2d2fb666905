"""chargeline's one schema: raw frames, canonical events, findings, and their Arrow schemas.

Imports nothing of ours; every other package imports it.
"""

from canonical.arrow import SCHEMA_VERSION, UtcNs, from_table, schema_of, to_batch
from canonical.events import CanonicalEvent
from canonical.findings import Alert, ChargerHealth, SessionRecord
from canonical.raw import RawFrame

__all__ = [
    "SCHEMA_VERSION",
    "Alert",
    "CanonicalEvent",
    "ChargerHealth",
    "RawFrame",
    "SessionRecord",
    "UtcNs",
    "from_table",
    "schema_of",
    "to_batch",
]
