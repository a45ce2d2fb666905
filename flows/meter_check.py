"""Meter reconciliation of a session's start and stop against its evidence.

- Start below the connector's previous stop (the stop before it in time, whatever order they
  came in): a charger whose meter restarts at 0 for every transaction (Q15, normal for many)
  is flagged ``per_transaction_meter`` and billed as is; any other drop is a ``meter_reset``.
- ``meter_mismatch``: meterStop below meterStart, or below the last register reading by more
  than the tolerance (Wh or % of the session).
Every finding carries the amount in Wh.
"""

from __future__ import annotations

from canonical.enums import AlertKind, SessionFlag
from flows.config import FlowConfig
from flows.session import Session

#: kind, what it is about (names the alert), Wh, message, when it happened (UTC ns)
Found = tuple[AlertKind, str, float, str, int | None]


def check_start(s: Session, config: FlowConfig) -> tuple[set[SessionFlag], list[Found]]:
    start, previous = s.meter_start_wh, s.previous_stop_wh
    tolerance = config.mismatch_tolerance_wh
    if not s.started or start is None or previous is None or previous - start <= tolerance:
        return set(), []
    if start <= tolerance:
        return {SessionFlag.per_transaction_meter}, []
    drop = previous - start
    return {SessionFlag.meter_reset}, [(
        AlertKind.meter_reset, "start", drop,
        f"meter started {drop:.0f} Wh below the previous stop on this connector", s.started_at)]


def check_stop(s: Session, config: FlowConfig, *, against_samples: bool = True
               ) -> tuple[set[SessionFlag], list[Found]]:
    """``against_samples`` False: a conflicting stop already stands for the disagreement
    (its readings are in the session too, and they differ from the first stop's)."""
    stop, start = s.meter_stop_wh, s.meter_start_wh
    if stop is None:
        return set(), []
    if start is not None and stop + s.walk.reset_loss_wh < start - 0.5:
        return {SessionFlag.meter_mismatch}, [(
            AlertKind.meter_mismatch, "", start - stop,
            f"meterStop {stop:.0f} Wh is below meterStart {start:.0f} Wh", s.stopped_at)]
    last = s.walk.last_register_wh
    if not against_samples:
        return set(), []
    span = stop - (start or stop)
    tolerance = max(config.mismatch_tolerance_wh, abs(span) * config.mismatch_tolerance_pct / 100)
    if last is not None and last - stop > tolerance:
        return {SessionFlag.meter_mismatch}, [(
            AlertKind.meter_mismatch, "", last - stop,
            f"meterStop {stop:.0f} Wh is {last - stop:.0f} Wh below the last meter sample",
            s.stopped_at)]
    return set(), []
