"""What the flows find: sessions (versioned), alerts, and charger health snapshots.

Natural keys (the warehouse views deduplicate by them, so writes may repeat):
``SessionRecord`` → (session_id, version); ``Alert`` → alert_id;
``ChargerHealth`` → (charge_point_id, minute).
"""

from __future__ import annotations

from dataclasses import dataclass

from canonical.arrow import UtcNs


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One version of a reconciled session. A higher ``version`` supersedes a lower one.

    Times: ``started_at``/``stopped_at`` are corrected UTC (charger time minus the drift
    estimate, or server time when the charger's clock is unusable); ``*_raw`` keep the
    charger's own text. Energy in Wh; ``energy_rule`` says, in words finance can read, how
    ``energy_wh`` was obtained (e.g. ``register_delta``, ``samples_fallback``).
    """

    session_id: str
    version: int
    charge_point_id: str
    connector_id: int | None
    evse_id: int | None
    transaction_id: str | None
    id_tag: str | None
    protocol: str
    status: str
    started_at: UtcNs | None
    stopped_at: UtcNs | None
    started_at_raw: str | None
    stopped_at_raw: str | None
    start_frame_id: int | None
    stop_frame_id: int | None
    meter_start_wh: float | None
    meter_stop_wh: float | None
    energy_wh: float | None
    energy_rule: str
    samples_energy_wh: float | None
    sample_count: int
    max_power_w: float | None
    stop_reason: str | None
    flags: list[str]
    clock_offset_s: float | None
    last_event_at: UtcNs
    updated_at: UtcNs


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert. ``alert_id`` is deterministic from what it is about, so repeats dedupe.

    ``detected_at`` is the server time the pipeline decided (processing time);
    ``event_time`` the time of the evidence; ``value`` the number behind it in ``unit``.
    ``withdrawn_at`` set: later evidence showed the finding was wrong (a sample delivered late
    filled a gap); the row withdraws the alert of that id (the latest row of an id stands).
    """

    alert_id: str
    kind: str
    severity: str
    charge_point_id: str
    session_id: str | None
    connector_id: int | None
    detected_at: UtcNs
    event_time: UtcNs | None
    value: float | None
    unit: str | None
    message: str
    frame_id: int | None
    detail: str | None
    withdrawn_at: UtcNs | None = None


@dataclass(frozen=True, slots=True)
class ChargerHealth:
    """A charger's health for one minute (``minute`` is the minute's start, server time)."""

    charge_point_id: str
    minute: UtcNs
    online: bool
    online_s: float
    reconnects: int
    heartbeats: int
    heartbeat_interval_s: float | None
    response_time_ms: float | None
    frames_in: int
    vendor: str | None
    model: str | None
    firmware_version: str | None
    drift_s: float | None
    sessions_active: int
    power_w: float | None
    updated_at: UtcNs
