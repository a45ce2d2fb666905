"""The session record while it lives in the flow: mutable, versioned, plain data (picklable).

``to_record()`` freezes it into the canonical ``SessionRecord`` the warehouse stores; every
change bumps ``version`` so the views keep the latest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from canonical.enums import SessionStatus
from canonical.events import CanonicalEvent
from canonical.findings import SessionRecord
from flows.energy import billable


@dataclass(slots=True)
class Session:
    """One charging session of one charge point (see ``flows.sessions`` for the rules)."""

    session_id: str
    charge_point_id: str
    protocol: str
    transaction_key: str | None
    connector_id: int | None = None
    evse_id: int | None = None
    id_tag: str | None = None
    version: int = 0
    status: str = SessionStatus.active.value
    started_at: int | None = None
    started_at_raw: str | None = None
    start_received_at: int | None = None
    start_frame_id: int | None = None
    start_message_id: str | None = None
    meter_start_wh: float | None = None
    previous_stop_wh: float | None = None  # the connector's last meterStop before this session
    stopped_at: int | None = None
    stopped_at_raw: str | None = None
    stop_frame_id: int | None = None
    stop_message_id: str | None = None
    meter_stop_wh: float | None = None
    stop_reason: str | None = None
    first_register_wh: float | None = None
    last_register_wh: float | None = None
    last_register_at: int | None = None
    reset_loss_wh: float = 0.0
    pending_drop: CanonicalEvent | None = None  # a ~1/1000 register drop: unit error or reset?
    session_register_wh: float | None = None
    session_register_lost_wh: float = 0.0  # its peaks before it restarted at 0
    stop_synthesized: bool = False  # closed by an adapter's inference, not a real Stop
    interval_sum_wh: float = 0.0
    sample_count: int = 0
    max_power_w: float | None = None
    flags: list[str] = field(default_factory=list)
    clock_offset_s: float | None = None
    last_event_at: int = 0
    seq_seen: list[int] = field(default_factory=list)
    stuck_episodes: int = 0

    @property
    def started(self) -> bool:
        return self.start_frame_id is not None

    @property
    def stopped(self) -> bool:
        return self.stop_frame_id is not None

    def flag(self, name: str) -> bool:
        """Add a flag; True if it is new."""
        if name in self.flags:
            return False
        self.flags.append(name)
        return True

    def to_record(self, updated_at: int) -> SessionRecord:
        self.version += 1
        energy, rule, samples_wh = billable(self)
        return SessionRecord(
            self.session_id, self.version, self.charge_point_id, self.connector_id,
            self.evse_id, self.transaction_key, self.id_tag, self.protocol, self.status,
            self.started_at, self.stopped_at, self.started_at_raw, self.stopped_at_raw,
            self.start_frame_id, self.stop_frame_id, self.meter_start_wh, self.meter_stop_wh,
            energy, rule, samples_wh, self.sample_count, self.max_power_w, self.stop_reason,
            sorted(self.flags),
            self.clock_offset_s, self.last_event_at, updated_at)
