"""Zaptec Go (Q19): skips StopTransaction; the connector just goes back to ``Available``.
That status closes the open transaction: a ``transaction_stopped`` event is synthesized after
it, at the last register, ``reason`` ``implicit_stop`` and ``value_issues``
``synthesized_stop``, so the session ends and finance can see why."""

from typing import Any

from adapters.base import Adapter
from adapters.state import ChargerState
from canonical.enums import ValueIssue

_IDLE = frozenset({"Available", "Unavailable"})


class Zaptec(Adapter):
    name = "zaptec"
    description = "Zaptec Go: Available without Stop closes the session (Q19)"
    vendor = r"(?i)zaptec"

    def review_status(self, fields: dict[str, Any], state: ChargerState, slot: str) -> None:
        super().review_status(fields, state, slot)
        key = fields.get("transaction_key")
        if key is not None and fields.get("status") in _IDLE:
            meter = state.last_register.get(slot)
            fields["synthesized_stop"] = {
                "connector_id": fields.get("connector_id"), "transaction_key": key,
                "meter_wh": meter, "energy_kind": "register" if meter is not None else None,
                "reason": "implicit_stop", "value_issues": (ValueIssue.synthesized_stop,),
                "charger_at": fields.get("charger_at"),
                "charger_at_raw": fields.get("charger_at_raw"),
                "timestamp_issue": fields.get("timestamp_issue")}
            state.tx_start_wh.pop(key, None)
            del state.open_tx[slot]
