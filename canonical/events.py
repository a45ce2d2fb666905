"""The canonical event: what every flow consumes. Adapters produce it from raw frames.

One flat, sparse record for all event types (``event_type`` says which fields matter), so that
a batch of events is one Arrow table. Values are in SI base units (Wh, W, A, V, Percent, Celsius,
Hz, VArh, VAr) with the raw value and unit kept beside them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from canonical.arrow import UtcNs
from canonical.enums import TimestampIssue, ValueIssue


@dataclass(slots=True)
class CanonicalEvent:
    """One normalized fact from one frame. Treat it as immutable: it is not ``frozen`` only
    because a frozen 39-field ``__init__`` costs 4x more (5 µs against 1.25 µs), and the
    flows build one or more per frame.

    ``event_id`` is ``"<frame_id>:<index>"``: deterministic, so a replay reproduces it.
    ``charger_at`` is the charger's own timestamp, parsed and in UTC, or None with the
    reason in ``timestamp_issues`` (``missing``, ``unparseable``, ``pre_sync_1970``...), which
    also notes repairs (``no_offset_assumed_utc``, ``short_offset``): a typed set
    (``TimestampIssue``), stored as ``list<string>``.
    ``transaction_key`` is the id that ties a session together: the CSMS-assigned 1.6
    transactionId or the 2.0.1 transactionId, as text; None where a placeholder was sent.
    ``energy_kind`` says what an energy value means: ``register`` (cumulative meter),
    ``session`` (energy since the transaction began), ``interval`` (energy in the last period).
    ``value_issues`` marks a value the adapter doubts or repaired (``ValueIssue``: a typed
    set, stored as ``list<string>``): flows treat such a value as evidence, not as truth.
    """

    event_id: str
    event_type: str
    frame_id: int
    charge_point_id: str
    protocol: str
    adapter: str
    server_received_at: UtcNs
    charger_at: UtcNs | None = None
    charger_at_raw: str | None = None
    timestamp_issues: tuple[TimestampIssue, ...] = ()
    connector_id: int | None = None
    evse_id: int | None = None
    transaction_key: str | None = None
    transaction_id_raw: str | None = None
    id_tag: str | None = None
    seq_no: int | None = None
    offline: bool | None = None
    trigger: str | None = None
    reason: str | None = None
    status: str | None = None
    error_code: str | None = None
    measurand: str | None = None
    phase: str | None = None
    context: str | None = None
    location: str | None = None
    value: float | None = None
    unit: str | None = None
    raw_value: str | None = None
    raw_unit: str | None = None
    meter_wh: float | None = None
    energy_kind: str | None = None
    value_issues: tuple[ValueIssue, ...] = ()
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware_version: str | None = None
    message_id: str | None = None
    quarantine_reason: str | None = None
    detail: str | None = None

    def replace(self, **changes: Any) -> CanonicalEvent:
        return dataclasses.replace(self, **changes)
