"""The session record while it lives in the flow: mutable, versioned, plain data (picklable).

Its meter evidence is a sorted, deduplicated list of readings (``flows.readings``) and the walk
over them (``flows.meter_walk``); its stops are every stop received, the first in charger time
winning (``flows.stops``). ``to_record()`` freezes it into the canonical ``SessionRecord`` the
warehouse stores; every change bumps ``version`` so the views keep the latest.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from canonical.enums import SessionFlag, SessionStatus
from canonical.findings import Alert, SessionRecord
from flows.config import FlowConfig
from flows.energy import billable
from flows.meter_walk import Finding, Walk, fold
from flows.readings import Reading
from flows.recovery import RecoveryClose
from flows.stops import StopEvidence

#: Closed sessions keep their readings only this long after their last event (late evidence
#: is rare past it); then the list is dropped and the walk's result kept.
EVIDENCE_KEEP_S = 6 * 3600


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
    start_order: int | None = None  # charger time as sent (server time without): orders the
    stop_order: int | None = None  # sessions of a connector (a drifting clock keeps its order)
    start_received_at: int | None = None
    start_frame_id: int | None = None
    start_message_id: str | None = None
    meter_start_wh: float | None = None
    previous_stop_wh: float | None = None  # the connector's stop before this session
    stopped_at: int | None = None
    stopped_at_raw: str | None = None
    stop_frame_id: int | None = None
    meter_stop_wh: float | None = None
    stop_reason: str | None = None
    stops: list[StopEvidence] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    walk: Walk = field(default_factory=Walk)
    stale: bool = False  # a reading sorted before folded ones: fold them all again
    flags: list[str] = field(default_factory=list)
    judged: set[SessionFlag] = field(default_factory=set)  # from the stops and physics
    alerted: dict[str, Alert] = field(default_factory=dict)  # by id, as last emitted
    clock_offset_s: float | None = None
    last_event_at: int = 0
    updates: dict[int, tuple[object, ...]] = field(default_factory=dict)  # seqNo → content
    stuck_episodes: int = 0
    recovery: RecoveryClose | None = None  # closed by stuck-session recovery (flows.recovery)

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

    def unflag(self, name: str) -> None:
        if name in self.flags:
            self.flags.remove(name)

    def add_reading(self, r: Reading) -> bool:
        """Insert a reading in protocol order; False if the same reading is already there."""
        readings = self.readings
        i = bisect_left(readings, (r.rank, r.at))
        j = i
        while j < len(readings) and readings[j].rank == r.rank and readings[j].at == r.at:
            if readings[j].content == r.content:
                return False
            j += 1
        readings.insert(j, r)
        if j < self.walk.count:
            self.stale = True
        return True

    def refold(self, config: FlowConfig) -> list[Finding]:
        """Fold the readings not folded yet (all of them again when one came out of order)."""
        if self.stale:
            self.walk, self.stale = Walk(), False
        found: list[Finding] = []
        for r in self.readings[self.walk.count:]:
            found += fold(self.walk, r, self.meter_start_wh, config)
        return found

    def release_evidence(self, now: int) -> None:
        """Drop the readings of a session closed long ago (bounded memory); keep the walk."""
        if self.readings and self.stopped and now - self.last_event_at > EVIDENCE_KEEP_S * 10**9:
            self.readings = []
            self.walk.count = 0

    def all_flags(self) -> list[str]:
        return sorted({*self.flags, *self.walk.flags, *self.judged})

    def to_record(self, updated_at: int) -> SessionRecord:
        self.version += 1
        energy, rule, samples_wh = billable(self)
        return SessionRecord(
            session_id=self.session_id, version=self.version,
            charge_point_id=self.charge_point_id, connector_id=self.connector_id,
            evse_id=self.evse_id, transaction_id=self.transaction_key, id_tag=self.id_tag,
            protocol=self.protocol, status=self.status, started_at=self.started_at,
            stopped_at=self.stopped_at, started_at_raw=self.started_at_raw,
            stopped_at_raw=self.stopped_at_raw, start_frame_id=self.start_frame_id,
            stop_frame_id=self.stop_frame_id, meter_start_wh=self.meter_start_wh,
            meter_stop_wh=self.meter_stop_wh, energy_wh=energy, energy_rule=rule,
            samples_energy_wh=samples_wh, sample_count=self.walk.sample_count,
            max_power_w=self.walk.max_power_w, stop_reason=self.stop_reason,
            flags=self.all_flags(), clock_offset_s=self.clock_offset_s,
            last_event_at=self.last_event_at, updated_at=updated_at)
