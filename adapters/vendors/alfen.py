"""Alfen Eve (Q17): queued MeterValues replayed on connect with ``transactionId``
9223372036854775807, old timestamps, odd contexts. They belong to no open transaction:
kept as evidence (``queued_replay``), never attached to the session running now."""

from adapters.base import Adapter
from adapters.state import ChargerState
from canonical.enums import ValueIssue

INT64_MAX = str(2**63 - 1)


class Alfen(Adapter):
    name = "alfen"
    description = "Alfen Eve: int64-max transactionId marks replayed queued samples (Q17)"
    vendor = r"(?i)alfen"

    def sample_transaction(self, key: str | None, raw: str | None, slot: str,
                           state: ChargerState) -> tuple[str | None, ValueIssue | None]:
        if raw is not None and raw.strip() == INT64_MAX:
            return None, ValueIssue.queued_replay
        return super().sample_transaction(key, raw, slot, state)
