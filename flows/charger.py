"""Everything the flow knows about one charge point, and the order it is applied in.

``ChargerPipeline.apply(frame, out)``: normalize (adapters) → for each event: the health
minutes that ended before it and every detector's timers due before it, then every detector in
registry order (drift, sessions, health) → new session versions. ``advance(now, out)``: timers
(stuck sessions, offline charger) and health minutes closed up to ``now``. Deterministic: only
frame times and ``now`` (a watermark of server receive time) drive it, never the wall clock;
a health minute is closed with the charger as it was at the minute's end (its events, and the
timers due by then), so the batches the frames come in change no row.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, cast

from adapters.normalizer import ChargerNormalizer, default_registry
from canonical.commands import CommandRecord
from canonical.enums import EventType, RecordKind
from canonical.events import CanonicalEvent
from canonical.findings import Alert, ChargerHealth, SessionRecord
from canonical.raw import RawFrame
from flows.clock_drift import DriftEstimator
from flows.config import FlowConfig, S
from flows.detector import Detector
from flows.detectors import DETECTORS
from flows.health import MINUTE, HealthTracker, MinuteRun
from flows.quarantine import alert_of
from flows.rollouts import rollout_alerts
from flows.sessions import SessionBook


@dataclass(slots=True)
class Output:
    """What a step produced, by warehouse table: each field is a table (its name) of records
    (its item type). The flow's one list of the tables it writes: ``OUTPUT_TABLES``; the
    warehouse's registry (warehouse/tables.py) holds each under the same name (tested)."""

    events: list[CanonicalEvent] = field(default_factory=list)
    sessions: list[SessionRecord] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    charger_health: list[ChargerHealth] = field(default_factory=list)
    commands: list[CommandRecord] = field(default_factory=list)
    #: more ``charger_health`` rows, many to an item (``flows.health.MinuteRun``)
    minute_runs: list[MinuteRun] = field(default_factory=list,
                                         metadata={"rows_of": "charger_health"})

    def __len__(self) -> int:
        return sum(len(rows) for _, rows in self.tables()) + sum(
            run.count for run in self.minute_runs)

    def tables(self) -> list[tuple[str, list[Any]]]:
        return [(name, getattr(self, name)) for name in OUTPUT_TABLES]


#: table name → record type, read off ``Output``'s fields.
OUTPUT_TABLES: dict[str, type] = {
    f.name: typing.get_args(typing.get_type_hints(Output)[f.name])[0]
    for f in dataclasses.fields(Output) if "rows_of" not in f.metadata}


_QUARANTINE = EventType.quarantine.value  # a plain str: enum attribute access is slow
_COMMAND = RecordKind.command.value
_ROLLOUT = RecordKind.rollout.value


class ChargerPipeline:
    """One charger: normalizer state plus its detectors (``flows.detectors.DETECTORS``)."""

    def __init__(self, charge_point_id: str, config: FlowConfig) -> None:
        self.charge_point_id = charge_point_id
        self.config = config
        self.normalizer = ChargerNormalizer(charge_point_id)
        self.detectors: dict[type[Detector], Detector] = {
            kind: kind(charge_point_id, config) for kind in DETECTORS}
        self._name_detectors()

    def _name_detectors(self) -> None:
        """The detectors others read, as attributes (a property per access cost 9 % of a
        replay's step: two lookups per event)."""
        self.drift = cast(DriftEstimator, self.detectors[DriftEstimator])
        self.sessions = cast(SessionBook, self.detectors[SessionBook])
        self.health = cast(HealthTracker, self.detectors[HealthTracker])
        self._in_order = list(self.detectors.values())
        self._timed = [d for d in self._in_order if d.TIMED]

    def __getstate__(self) -> dict[str, Any]:
        """Picklable for Bytewax snapshots: the normalizer travels as its JSON state, the
        detectors as themselves (plain objects)."""
        return {"charge_point_id": self.charge_point_id, "config": self.config,
                "detectors": self.detectors, "normalizer": self.normalizer.snapshot()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.charge_point_id, self.config = state["charge_point_id"], state["config"]
        self.detectors = state["detectors"]
        self._name_detectors()
        self.normalizer = ChargerNormalizer.restore(self.charge_point_id, state["normalizer"],
                                                    default_registry())

    def apply(self, frame: RawFrame, out: Output) -> None:
        if frame.record_kind == _ROLLOUT:  # a rollout's step, journaled by its agent
            out.alerts.extend(rollout_alerts(frame))
            return
        events = self.normalizer.normalize(frame)
        out.events.extend(events)
        if frame.record_kind == _COMMAND:  # what we asked of it: no evidence of the charger
            out.commands.append(CommandRecord.from_json(frame.raw, frame.frame_id))
            return
        alerts, health = out.alerts, self.health
        for event in events:
            at = event.server_received_at
            if health.minute_start is not None and at >= health.minute_start + MINUTE:
                self.close_minutes(at, out)  # the minutes it comes after, then its timers
            self._timers(at, out)
            for detector in self._in_order:
                alerts.extend(detector.apply(event, self))
            if event.event_type == _QUARANTINE:
                alerts.append(alert_of(event))
        out.alerts.extend(self.sessions.settle(frame.received_at))
        out.sessions.extend(self.sessions.flush(frame.received_at))

    def advance(self, now: int, out: Output) -> None:
        """Close the health minutes that ended ``minute_grace_s`` before ``now`` (an event
        may still come for a later one) and fire every timer due by ``now`` — but not past
        the end of a minute still open to events: its row sees the timers due by its end."""
        self.close_minutes(now - int(self.config.minute_grace_s * S), out)
        end = self.health.minute_end()
        self._timers(now if end is None or end > now else end, out)
        out.sessions.extend(self.sessions.flush(now))

    def close_minutes(self, at: int, out: Output) -> None:
        """Each health minute ended by ``at``, closed after the timers due by its end. Only
        the stuck watchdog changes what a row says (sessions running), so without a running
        session the timers wait for the next event or clock: they fire then, with the same
        alerts (stamped with their deadlines) and before anything else happens; and the
        minutes after the first, silent, close as one run."""
        drift, health = self.drift.estimate_s, self.health
        left = health.minutes_to_close(at)
        while left:
            active = self.sessions.active()
            if active:
                end = health.minute_end()
                assert end is not None
                self._timers(end, out)
                active = self.sessions.active()
            elif left > 2:
                out.charger_health.append(health.close_minute(drift, 0))
                out.minute_runs.append(health.close_silent(left - 1, drift))
                return
            out.charger_health.append(health.close_minute(drift, len(active)))
            left -= 1

    def evictable(self, now: int) -> bool:
        """Offline, silent for ``evict_after_s`` and no session running: its state can go."""
        h = self.health
        return not h.online and now - h.last_seen > self.config.evict_after_s * S and \
            not self.sessions.active()

    def _timers(self, now: int, out: Output) -> None:
        for detector in self._timed:
            out.alerts.extend(detector.advance(now, self))

