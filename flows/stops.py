"""Every stop a session received, and which one bills: the policy finance reads.

Chargers send a stop again: the same one after a lost answer or at shutdown (an identical
retransmission, under any message id, any seqNo), or a different one (a firmware that
re-reads its meter, a queue replayed after a reboot). The policy, per extra stop:

| case | bills | alert | flag | hold |
|---|---|---|---|---|
| same meterStop (± 0.5 Wh) | first | none | ``stop_resent`` | no |
| differs by ≤ tolerance | first | ``duplicate_stop`` (Wh apart) | ``duplicate_stop`` | no |
| differs by > tolerance | first | ``duplicate_stop`` (Wh apart) | ``conflicting_stop`` | yes |

"First" is the earliest in the charger's own time (then seqNo, then arrival), so the answer
does not depend on which copy arrived first. A stop an adapter synthesized (Zaptec Q19) loses
to any real one. Tolerance: ``FlowConfig.stop_tolerance_wh`` or ``stop_tolerance_pct`` of the
session's energy, whichever is larger (defaults 50 Wh, 1 %).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from canonical.enums import AlertKind, SessionFlag, ValueIssue
from canonical.events import CanonicalEvent
from canonical.findings import Alert
from flows.alerts import make_alert
from flows.config import FlowConfig, S

if TYPE_CHECKING:
    from flows.session import Session

SAME_WH = 0.5


class StopEvidence(NamedTuple):
    """One stop as received. Field order is the order of precedence."""

    synthesized: bool
    at: int  # charger time, or server receive time when it sent none
    seq: int
    frame_id: int
    meter_wh: float | None
    received_at: int
    message_id: str | None
    reason: str | None
    charger_at: int | None
    charger_at_raw: str | None
    id_tag: str | None


class StopFinding(NamedTuple):
    kind: AlertKind
    amount_wh: float
    message: str
    stop: StopEvidence


def stop_of(e: CanonicalEvent) -> StopEvidence:
    at = e.charger_at if e.charger_at is not None else e.server_received_at
    return StopEvidence(ValueIssue.synthesized_stop in e.value_issues, at,
                        -1 if e.seq_no is None else e.seq_no, e.frame_id, e.meter_wh,
                        e.server_received_at, e.message_id, e.reason, e.charger_at,
                        e.charger_at_raw, e.id_tag)


def judge_stops(stops: list[StopEvidence], energy_wh: float | None, config: FlowConfig
                ) -> tuple[set[SessionFlag], list[StopFinding]]:
    """Flags and findings for the stops after the first (``stops`` sorted, first wins)."""
    first = stops[0]
    tolerance = max(config.stop_tolerance_wh,
                    abs(energy_wh or 0.0) * config.stop_tolerance_pct / 100)
    flags: set[SessionFlag] = set()
    found: list[StopFinding] = []
    for other in stops[1:]:
        if other.synthesized and not first.synthesized:
            continue
        if other.meter_wh is None or first.meter_wh is None:
            differs = 0.0 if other.meter_wh is first.meter_wh else None
        else:
            differs = abs(other.meter_wh - first.meter_wh)
        if differs is not None and differs <= SAME_WH:
            flags.add(SessionFlag.stop_resent)
            continue
        material = differs is None or differs > tolerance
        flags.add(SessionFlag.conflicting_stop if material else SessionFlag.duplicate_stop)
        what = "unknown" if differs is None else f"{differs:.0f} Wh"
        found.append(StopFinding(
            AlertKind.duplicate_stop, differs or 0.0,
            f"stop sent again with a meterStop {what} away; the first one stands"
            + (" (past the tolerance: held)" if material else ""), other))
    return flags, found


def late_stop(session: Session, e: CanonicalEvent, config: FlowConfig) -> list[Alert]:
    """A billing stop received ``late_stop_s`` or more after its own (corrected) time: flag
    ``late_stop`` and its alert (value: the delay in s)."""
    if session.stopped_at is None or e.charger_at is None:
        return []
    delay_s = (e.server_received_at - session.stopped_at) / S
    if delay_s < config.late_stop_s:
        return []
    session.flag(SessionFlag.late_stop)
    return [make_alert(AlertKind.late_stop, session.charge_point_id, session.session_id,
                       detected_at=e.server_received_at, event_time=session.stopped_at,
                       session_id=session.session_id, connector_id=session.connector_id,
                       frame_id=e.frame_id, value=round(delay_s, 1), unit="s",
                       message=f"stop arrived {delay_s / 3600:.1f} h after the session ended")]
