"""The per-frame emitter: numbers events ``<frame_id>:<index>`` and stamps the common fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.state import ChargerState
from canonical.enums import EventType
from canonical.events import CanonicalEvent
from canonical.raw import RawFrame

if TYPE_CHECKING:
    from adapters.base import Adapter


class FrameContext:
    """Everything a handler needs for one frame: the frame, the adapter, the state, the output.

    Handlers call ``emit``/``quarantine``; events come out in call order, numbered from 0.
    """

    __slots__ = ("adapter", "events", "frame", "message_id", "state")

    def __init__(self, frame: RawFrame, adapter: Adapter, state: ChargerState,
                 message_id: str | None) -> None:
        self.frame = frame
        self.adapter = adapter
        self.state = state
        self.message_id = message_id
        self.events: list[CanonicalEvent] = []

    def emit(self, event_type: EventType, **fields: Any) -> CanonicalEvent:
        frame = self.frame
        event = CanonicalEvent(
            f"{frame.frame_id}:{len(self.events)}", event_type.value, frame.frame_id,
            frame.charge_point_id, frame.protocol, self.adapter.name, frame.received_at,
            message_id=self.message_id, **fields)
        self.events.append(event)
        return event

    def own_events(self) -> list[CanonicalEvent]:
        """Events numbered from this frame (not held starts released on its way)."""
        return [e for e in self.events if e.frame_id == self.frame.frame_id]

    def quarantine(self, reason: str, detail: str | None = None) -> CanonicalEvent:
        return self.emit(EventType.quarantine, quarantine_reason=reason,
                         detail=detail[:500] if detail else None)

    def times(self, value: Any) -> dict[str, Any]:
        """The three timestamp fields for a charger timestamp, in UTC, repairs named."""
        charger_at, issue = self.adapter.parse_time(value)
        raw = value if isinstance(value, str) else (None if value is None else str(value))
        return {"charger_at": charger_at, "charger_at_raw": raw,
                "timestamp_issues": () if issue is None else (issue,)}
