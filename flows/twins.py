"""Two transaction ids for one physical start (a phantom under a new id).

A 1.6 charger that got no answer to its StartTransaction sends it again under a new message
id; a central system that does not deduplicate by content answers with a second
transactionId (imported history from such systems has them). The charger goes on with one
id; the other never sees a sample or a stop and would stay ``stuck`` for ever. Two starts on
the same connector with the same idTag, meterStart and timestamp are one start: the session
with more evidence stands (a stop, then readings; on a tie the later-assigned id, the one the
charger got an answer for), the others become ``void`` (not stuck, not billed), and one
``phantom_transaction`` alert names the start. Decided again whenever a twin gets evidence,
so the answer does not depend on arrival order.
"""

from __future__ import annotations

from canonical.enums import AlertKind, SessionFlag, SessionStatus
from canonical.events import CanonicalEvent
from canonical.findings import Alert
from flows.alerts import make_alert
from flows.session import Session


def twin_key(s: Session) -> tuple[object, ...] | None:
    """What makes two starts the same physical start; None when it cannot be told."""
    if s.started_at_raw is None or s.meter_start_wh is None:
        return None
    return (s.evse_id if s.evse_id is not None else s.connector_id, s.id_tag,
            s.meter_start_wh, s.started_at_raw)


def _standing(s: Session) -> tuple[bool, int, int, str]:
    key = s.transaction_key or ""
    return (s.stopped, len(s.readings) + s.walk.count, len(key), key)


def resolve_twins(members: list[Session], e: CanonicalEvent) -> list[Alert]:
    keeper = max(members, key=_standing)
    for s in members:
        if s is keeper:
            s.unflag(SessionFlag.phantom_of)
            if s.status == SessionStatus.void:
                s.status = (SessionStatus.completed if s.stopped else SessionStatus.active).value
            continue
        s.status = SessionStatus.void.value
        s.flag(SessionFlag.phantom_of)
    keeper.flag(SessionFlag.phantom)
    void = sorted(s.transaction_key or "" for s in members if s is not keeper)
    return [make_alert(AlertKind.phantom_transaction, keeper.charge_point_id,
                       f"start{keeper.started_at_raw}@{twin_key(keeper)!r:.80}",
                       detected_at=e.server_received_at, event_time=keeper.started_at,
                       session_id=keeper.session_id, connector_id=keeper.connector_id,
                       frame_id=e.frame_id,
                       message=f"one start under {len(members)} transaction ids; "
                               f"{', '.join(void)} void, billed once")]
