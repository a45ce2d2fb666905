"""Zaptec Go (Q19): skips StopTransaction; the connector just goes back to ``Available``.
That status closes the open transaction: a ``transaction_stopped`` event is synthesized after
it, at the last register, ``reason`` ``implicit_stop`` and ``value_issues``
``synthesized_stop``, so the session ends and finance can see why."""

from adapters.base import Adapter, ImpliedStop
from adapters.state import ChargerState

_IDLE = frozenset({"Available", "Unavailable"})


class Zaptec(Adapter):
    name = "zaptec"
    description = "Zaptec Go: Available without Stop closes the session (Q19)"
    vendor = r"(?i)zaptec"

    def implied_stop(self, status: str, transaction_key: str | None, state: ChargerState,
                     slot: str) -> ImpliedStop | None:
        if transaction_key is None or status not in _IDLE:
            return None
        state.tx_start_wh.pop(transaction_key, None)
        del state.open_tx[slot]
        return ImpliedStop(transaction_key, state.last_register.get(slot))
