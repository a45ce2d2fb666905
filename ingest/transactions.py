"""OCPP 1.6 transaction ids: the CSMS assigns them, and a start seen again gets the same one.

Chargers resend StartTransaction with new message ids (after a reconnect, a reboot, a lost
answer). The content key ``(charge point, connectorId, idTag, timestamp, meterStart)`` says
it is the same start, so it is answered with the same ``transactionId`` — also across server
restarts, because the registry is rebuilt from the journal, which holds every answer given.
"""

from __future__ import annotations

import json
import os
from typing import Any

import orjson
import pyarrow.compute as pc

from canonical import jsontext
from canonical.enums import Direction, MessageType, Protocol
from ingest.journal import JournalReader

ContentKey = tuple[str, str, str, str, str]
_ACTION = "StartTransaction"


def content_key(charge_point_id: str, payload: dict[str, Any]) -> ContentKey:
    """The dedup key of a 1.6 StartTransaction payload (raw JSON text of each field)."""
    def field(name: str) -> str:
        value = payload.get(name)
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # an integer beyond 64 bits (valid JSON, read by the fallback)
            return json.dumps(value)

    return (charge_point_id, field("connectorId"), field("idTag"), field("timestamp"),
            field("meterStart"))


class TransactionRegistry:
    """Assigns 1.6 transaction ids; the same content key always gets the same id."""

    def __init__(self, first_id: int = 1) -> None:
        self._by_key: dict[ContentKey, int] = {}
        self.next_id = first_id

    def assign(self, charge_point_id: str, payload: dict[str, Any]) -> tuple[int, bool]:
        """(transactionId, seen_before) for a StartTransaction payload."""
        key = content_key(charge_point_id, payload)
        known = self._by_key.get(key)
        if known is not None:
            return known, True
        tx_id = self.next_id
        self.next_id += 1
        self._by_key[key] = tx_id
        return tx_id, False

    def remember(self, key: ContentKey, tx_id: int) -> None:
        self._by_key.setdefault(key, tx_id)
        self.next_id = max(self.next_id, tx_id + 1)

    def __len__(self) -> int:
        return len(self._by_key)

    @classmethod
    def from_journal(cls, data_dir: str | os.PathLike[str]) -> TransactionRegistry:
        """Rebuild from every StartTransaction CALL and its CALLRESULT in the journal."""
        registry = cls()
        table = JournalReader(data_dir).read_all()
        starts = table.filter(pc.and_(pc.equal(table["action"], _ACTION),
                                      pc.equal(table["protocol"], Protocol.v16.value)))
        calls: dict[tuple[str, str], ContentKey] = {}
        for row in starts.select(["connection_id", "message_id", "direction", "message_type",
                                  "charge_point_id", "raw"]).to_pylist():
            pair = (row["connection_id"], row["message_id"])
            registry._absorb(row, pair, calls)
        return registry

    def _absorb(self, row: dict[str, Any], pair: tuple[str, str],
                calls: dict[tuple[str, str], ContentKey]) -> None:
        try:
            frame = jsontext.loads(row["raw"])
        except jsontext.JSONDecodeError:
            return
        if row["direction"] == Direction.inbound and row["message_type"] == MessageType.call:
            if isinstance(frame[3], dict):
                calls[pair] = content_key(row["charge_point_id"], frame[3])
        elif row["message_type"] == MessageType.call_result and pair in calls:
            tx_id = frame[2].get("transactionId") if isinstance(frame[2], dict) else None
            if isinstance(tx_id, int):
                self.remember(calls[pair], tx_id)
