"""What the flow cannot process is quarantined, never a stop.

A frame whose processing raises (a bug an unforeseen input found) and a record that cannot be
written (text no Arrow string holds) become a ``quarantine`` event — in the events table, the
``quarantine`` view lists them with their reason and frame id — and a ``quarantined_frame``
alert; everything after them flows. Deterministic: a replay quarantines the same frames.
"""

from __future__ import annotations

from canonical.enums import AlertKind, EventType
from canonical.events import CanonicalEvent
from canonical.findings import Alert
from canonical.raw import RawFrame
from flows.alerts import make_alert

DETAIL_CHARS = 300


def text(value: object) -> str:
    """``value`` as text any Arrow string holds (lone surrogates replaced)."""
    return str(value).encode("utf-8", "replace").decode("utf-8")


def quarantined(frame_id: int, charge_point_id: str, protocol: str, received_at: int, *,
                reason: str, error: BaseException) -> CanonicalEvent:
    """The quarantine event standing for what could not be processed."""
    return CanonicalEvent(
        event_id=f"{frame_id}:quarantine:{reason}", event_type=EventType.quarantine.value,
        frame_id=frame_id, charge_point_id=text(charge_point_id), protocol=text(protocol),
        adapter="flow", server_received_at=received_at, quarantine_reason=reason,
        detail=text(f"{type(error).__name__}: {error}")[:DETAIL_CHARS])


def of_frame(frame: RawFrame, error: BaseException) -> CanonicalEvent:
    return quarantined(frame.frame_id, frame.charge_point_id, frame.protocol,
                       frame.received_at, reason="pipeline_error", error=error)


def of_record(row: object, error: BaseException) -> CanonicalEvent:
    """A record (event, session version, alert, health minute) that cannot be written."""
    frame_id = getattr(row, "frame_id", None) or getattr(row, "stop_frame_id", None) or \
        getattr(row, "start_frame_id", None) or 0
    at = next((v for v in (getattr(row, f, None) for f in (
        "server_received_at", "updated_at", "detected_at", "minute")) if v is not None), 0)
    return quarantined(frame_id, getattr(row, "charge_point_id", ""),
                       getattr(row, "protocol", ""), at,
                       reason=f"unwritable_{type(row).__name__}", error=error)


def alert_of(e: CanonicalEvent) -> Alert:
    return make_alert(AlertKind.quarantined_frame, e.charge_point_id, e.event_id,
                      detected_at=e.server_received_at, event_time=e.server_received_at,
                      frame_id=e.frame_id, detail=e.detail,
                      message=f"frame could not be processed: {e.quarantine_reason}")
