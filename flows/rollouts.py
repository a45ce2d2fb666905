"""Firmware rollout records (``RecordKind.rollout``, journaled by the rollout agent beside
``serve``) as alerts: a halt is a ``firmware_rollout_halted`` alert on the charger whose
evidence breached the gate, so the alert is a function of the journal, replay included."""

from __future__ import annotations

import orjson

from canonical.enums import AlertKind
from canonical.findings import Alert
from canonical.raw import RawFrame
from canonical.rollouts import RolloutEvent, RolloutNote
from flows.alerts import make_alert


def rollout_alerts(frame: RawFrame) -> list[Alert]:
    """The alert a ``halted`` record makes; [] for the rollout's other steps and for a record
    that cannot be read (a rollout record is ours: never a charger's frame to quarantine)."""
    try:
        note = RolloutNote.from_json(frame.raw)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return []
    if note.event != RolloutEvent.halted or note.halt is None:
        return []
    gate = note.halt
    return [make_alert(
        AlertKind.firmware_rollout_halted, frame.charge_point_id, note.rollout_id,
        detected_at=frame.received_at, event_time=note.first_failure_at, value=gate.value,
        unit=gate.unit, frame_id=frame.frame_id, detail=frame.raw,
        message=f"firmware rollout {note.rollout_id} to {note.to_version} halted in wave "
                f"{note.wave + 1}: {gate.gate.value} {gate.value:g} {gate.unit} over "
                f"{gate.n} ({gate.model}), limit {gate.limit:g}")]
