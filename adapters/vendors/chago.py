"""Chago (Q3): right after boot, StatusNotifications carry local time labelled ``Z`` (hours
ahead) until the clock syncs from our answers. Until the first Heartbeat after a boot, its
status times are not trusted: ``charger_at`` None, ``timestamp_issues`` ``unsynced_after_boot``
(the flows then use the server's receive time)."""

from typing import Any

from adapters.base import Adapter
from adapters.state import ChargerState
from adapters.values import add_issue
from canonical.enums import TimestampIssue


class Chago(Adapter):
    name = "chago"
    description = "Chago: local time labelled Z until the clock syncs after boot (Q3)"
    vendor = r"(?i)chago"

    def review_status(self, fields: dict[str, Any], state: ChargerState, slot: str) -> None:
        super().review_status(fields, state, slot)
        if state.heartbeats_since_boot == 0 and fields.get("charger_at") is not None:
            fields["charger_at"] = None
            fields["timestamp_issues"] = add_issue(fields.get("timestamp_issues", ()),
                                                   TimestampIssue.unsynced_after_boot)
