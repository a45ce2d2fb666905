"""Per-charge-point normalizer state: plain dicts of text and numbers, so it snapshots as JSON.

A *slot* is where a transaction lives: the 1.6 connectorId or the 2.0.1 evse id, as text.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

#: Entries kept per table (unanswered CALLs, and slots: a charger-chosen connectorId or
#: evseId must not grow memory without bound); the oldest are forgotten past this.
MAX_PENDING = 64


@dataclass(slots=True)
class ChargerState:
    """What one charger's normalizer remembers between frames. Bounded in size."""

    adapter: str = "generic"
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware_version: str | None = None
    #: 1.6 StartTransaction CALLs awaiting the CSMS answer: message id → event fields.
    pending_start: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: CSMS→charger CALLs awaiting the charger's answer: message id → [action, sent ns,
    #: transaction key the CALL names or None] (``adapters.answers``).
    pending_out: dict[str, list[Any]] = field(default_factory=dict)
    #: charger→CSMS CALLs awaiting the CSMS answer: message id → action.
    calls_in: dict[str, str] = field(default_factory=dict)
    #: 2.0.1 TransactionEvents that carried an idToken, awaiting the CSMS answer:
    #: message id → [transaction key, evse id, id tag].
    token_events: dict[str, list[Any]] = field(default_factory=dict)
    #: slot → transaction key of the transaction open there.
    open_tx: dict[str, str] = field(default_factory=dict)
    #: transaction key → meter at start (Wh).
    tx_start_wh: dict[str, float] = field(default_factory=dict)
    #: slot → last trusted cumulative energy register (Wh).
    last_register: dict[str, float] = field(default_factory=dict)
    #: slot → meter at the last stop (Wh).
    last_stop_wh: dict[str, float] = field(default_factory=dict)
    #: transaction keys ended (bounded): a late ``Updated`` does not open them again.
    closed_tx: dict[str, int] = field(default_factory=dict)
    #: slot → a register value doubted once (a spike, or a reset if the next one agrees).
    suspect_register: dict[str, float] = field(default_factory=dict)
    #: 2.1 periodic event streams: monitor id → [measurand, evse id or None] (from
    #: NotifyMonitoringReport), stream id → monitor id (from OpenPeriodicEventStream).
    monitors: dict[str, list[Any]] = field(default_factory=dict)
    streams: dict[str, str] = field(default_factory=dict)
    #: Heartbeats since the last BootNotification (the clock is synced after the first).
    heartbeats_since_boot: int = 0

    def remember(self, table: dict[str, Any], key: str, value: Any) -> None:
        """Insert (as the newest), dropping the oldest entries past ``MAX_PENDING``."""
        table.pop(key, None)
        table[key] = value
        while len(table) > MAX_PENDING:
            del table[next(iter(table))]

    def slot_of(self, tx_key: str) -> str | None:
        for slot, key in self.open_tx.items():
            if key == tx_key:
                return slot
        return None

    def to_json(self) -> dict[str, Any]:
        return {f.name: _copy(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChargerState:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: _copy(v) for k, v in data.items() if k in names})


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
