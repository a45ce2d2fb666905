"""The warehouse tables: which record each holds, its natural key and its partition time.

One registry, read by the writer (where a row goes), the catalog (which views exist) and the
maintenance commands (compact, prune). Adding a table is one line here plus its SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from canonical import Alert, CanonicalEvent, ChargerHealth, RawFrame, SessionRecord, schema_of
from canonical.commands import CommandRecord
from canonical.errors import RegistryError
from warehouse.charger_last import ChargerLast


@dataclass(frozen=True, slots=True)
class Table:
    """A warehouse table. ``day_column`` (UTC) picks the ``date=YYYY-MM-DD`` partition;
    ``key`` is the natural key the views deduplicate by."""

    name: str
    record_type: type
    day_column: str
    key: tuple[str, ...]

    @property
    def schema(self) -> pa.Schema:
        return schema_of(self.record_type)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("frames", RawFrame, "received_at", ("frame_id",)),
        Table("events", CanonicalEvent, "server_received_at", ("event_id",)),
        Table("sessions", SessionRecord, "updated_at", ("session_id", "version")),
        Table("alerts", Alert, "detected_at", ("alert_id",)),
        Table("charger_health", ChargerHealth, "minute", ("charge_point_id", "minute")),
        Table("charger_last", ChargerLast, "last_minute", ("charge_point_id",)),
        Table("commands", CommandRecord, "requested_at", ("command_id",)),
    )
}


def resolve(name: str) -> Table:
    """The table called ``name``; a RegistryError listing the valid names otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise RegistryError("warehouse table", name, list(TABLES)) from None
