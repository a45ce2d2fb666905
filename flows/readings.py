"""Meter readings as a session's evidence: deduplicated by content, ordered by the protocol.

A session's energy is a function of the set of readings it received, never of the order they
arrived in. Chargers deliver the same reading twice (a 2.0.1 ``Ended`` repeating the
``Transaction.Begin`` sample, Q29; a 1.6 Stop with ``transactionData`` retried under a new
message id, Q32) and deliver old readings late (offline queues, Q30). So a reading is keyed by
its content — what it measures, its context, its time, its value — and the session folds its
readings in protocol order:

1. ``Transaction.Begin`` readings first, ``Transaction.End`` readings last (a repeated Begin
   sample inside an ``Ended`` is about the start, whatever seqNo carried it);
2. then by the charger's own timestamp (the server's receive time when it sent none);
3. then by the 2.0.1 ``seqNo`` (1.6: none).

A reading older than one already folded is evidence about the past, not a register drop.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from canonical.enums import UNTRUSTED, ValueIssue
from canonical.events import CanonicalEvent

REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
_RANK = {"Transaction.Begin": 0, "Transaction.End": 2}


class Kind(IntEnum):
    """What a reading measures, for the walk over a session's readings."""

    register = 0  # the cumulative energy register, Wh
    session = 1  # energy since the transaction began (ABB Q10), Wh
    interval = 2  # energy in the last period, Wh
    power = 3  # active import power, W


class Reading(NamedTuple):
    """One meter reading. Field order is the sort order (``rank, at, seq``)."""

    rank: int  # 0 Begin, 1 during, 2 End
    at: int  # charger time (UTC ns), or server receive time when it sent none
    seq: int  # 2.0.1 seqNo, -1 without
    kind: Kind
    value: float
    untrusted: bool  # evidence only, never a reading to bill from (``UNTRUSTED`` issues)
    spike: bool  # an adapter-distrusted register value (Wallbox Q13)
    frame_id: int

    @property
    def content(self) -> tuple[int, int, Kind, float]:
        """What makes two readings the same reading, whichever frame carried them."""
        return self.rank, self.at, self.kind, self.value


def reading_of(e: CanonicalEvent) -> Reading | None:
    """The reading a ``meter_sample`` event carries, or None when it is not about energy or
    power (voltages, currents, per-phase values)."""
    if e.phase is not None or e.value is None:
        return None
    if e.measurand == POWER:
        kind = Kind.power
    elif e.meter_wh is None:
        return None
    elif e.energy_kind == "session":
        kind = Kind.session
    elif e.energy_kind == "interval":
        kind = Kind.interval
    elif e.measurand == REGISTER:
        kind = Kind.register
    else:
        return None
    issues = e.value_issues
    value = e.value if kind is Kind.power or e.meter_wh is None else e.meter_wh
    at = e.charger_at if e.charger_at is not None else e.server_received_at
    return Reading(_RANK.get(e.context or "", 1), at, -1 if e.seq_no is None else e.seq_no,
                   kind, value, any(i in UNTRUSTED for i in issues),
                   ValueIssue.spike in issues, e.frame_id)
