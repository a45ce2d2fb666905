"""Clock drift: a robust estimate of (charger clock - server clock) per charger.

Evidence is the charger's own timestamp on frames it sends *live* — status changes,
transaction events, periodic samples — one offset per frame. Offline backlog (queued samples,
``offline`` 2.0.1 events, synthesized stops) is left out, and so is any offset more than 2 h
from the running estimate (a Stop delivered hours late): its offset is the delay, not the clock;
and so is a transaction message stamped before the connection it came on opened (a back-fill
after weeks offline, Q33: sent at reconnect, its age is the queue's, not the clock's).

The estimate is the median of the last 15 offsets. Alerts: ``clock_unsynced`` for 1970 times
and for a clock off by more than a day (a wrong date, not a zone),
``clock_timezone_offset`` when the estimate is a whole number of hours (±2 min, not 0),
``clock_drift`` otherwise past ``drift_alert_s``. One alert per episode (until the clock is
back within bounds).
"""

from __future__ import annotations

from collections import deque
from statistics import median
from typing import TYPE_CHECKING, ClassVar

from canonical.enums import BACKLOG, AlertKind, EventType, TimestampIssue
from canonical.events import CanonicalEvent
from canonical.findings import Alert
from flows.alerts import make_alert
from flows.config import FlowConfig, S

if TYPE_CHECKING:
    from flows.charger import ChargerPipeline

WINDOW = 15
_BOOTED, _CONNECTED = EventType.booted.value, EventType.connected.value
_STATUS = EventType.status_changed.value
RECENT = 64  # charger times of transaction messages already taken as evidence
_LIVE_TYPES = frozenset({EventType.status_changed, EventType.transaction_started,
                         EventType.transaction_updated, EventType.transaction_stopped,
                         EventType.meter_sample, EventType.security_event})
HOUR_S = 3600.0
DAY_S = 86400.0
QUEUED_MARGIN_NS = 60 * S
QUEUED_AGE_NS = 2 * 3600 * S


class DriftEstimator:
    """Per-charger drift estimate; ``apply(event)`` returns the alerts it raises."""

    TIMED: ClassVar[bool] = False
    KINDS: ClassVar[frozenset[AlertKind]] = frozenset({
        AlertKind.clock_drift, AlertKind.clock_timezone_offset, AlertKind.clock_unsynced})

    def __init__(self, charge_point_id: str, config: FlowConfig) -> None:
        self.charge_point_id = charge_point_id
        self.config = config
        self.offsets: deque[float] = deque(maxlen=WINDOW)
        self._estimate: float | None = None
        self.open_episode: str | None = None
        self.unsynced_boot: int | None = None
        self.last_boot_frame: int = 0
        self.last_frame: int = -1
        self.connected_at: int | None = None
        self.recent: deque[int] = deque(maxlen=RECENT)
        self.recent_set: set[int] = set()
        self.newest_at = 0  # the newest charger time taken since the connection opened

    @property
    def estimate_s(self) -> float | None:
        """The median of the last offsets (s); None below ``drift_min_samples``. Kept up to
        date as offsets come: it is read five times as often (the bench journal: 107,058
        reads, 20,769 offsets)."""
        return self._estimate

    def _median(self) -> float | None:
        if len(self.offsets) < self.config.drift_min_samples:
            return None
        return float(median(self.offsets))

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._estimate = self._median()  # a snapshot of a flow from before it was kept

    def correct(self, charger_at: int | None) -> int | None:
        """Charger time minus the estimate (UTC ns); as sent while there is no estimate."""
        if charger_at is None:
            return None
        estimate = self.estimate_s
        return charger_at if estimate is None else charger_at - int(estimate * S)

    def advance(self, now: int, charger: ChargerPipeline) -> list[Alert]:
        return []  # no timers: its findings come with frames

    def apply(self, event: CanonicalEvent, charger: ChargerPipeline | None = None
              ) -> list[Alert]:
        kind = event.event_type
        if kind == _BOOTED:
            self.last_boot_frame, self.newest_at = event.frame_id, 0
            return []
        if kind == _CONNECTED:
            self.connected_at, self.newest_at = event.server_received_at, 0
            return []
        if event.timestamp_issues and TimestampIssue.pre_sync_1970 in event.timestamp_issues:
            return self._unsynced(event)
        if not self._is_live(event) or event.frame_id == self.last_frame:
            return []
        self.last_frame = event.frame_id
        offset = (event.charger_at - event.server_received_at) / S  # type: ignore[operator]
        current = self.estimate_s
        if current is not None and abs(offset - current) > 2 * HOUR_S:
            return []
        self.offsets.append(offset)
        self._estimate = self._median()
        return self._judge(event)

    def _is_live(self, event: CanonicalEvent) -> bool:
        if event.charger_at is None or event.event_type not in _LIVE_TYPES:
            return False
        if event.offline or (event.value_issues and not BACKLOG.isdisjoint(event.value_issues)):
            return False
        if event.event_type != _STATUS and (
                self._queued(event.charger_at, event.server_received_at)
                or self._seen(event.charger_at)):
            return False
        return event.event_type != EventType.meter_sample or event.context in (
            None, "Sample.Periodic", "Sample.Clock")

    def _seen(self, charger_at: int) -> bool:
        """A time already taken, or one before the newest already taken on this connection:
        a message sent again (retransmitted, a sample repeated in a later message, Q29/Q32)
        or held back in a queue and delivered after newer ones (Q30) is not live."""
        if charger_at in self.recent_set or charger_at < self.newest_at - QUEUED_MARGIN_NS:
            return True
        if len(self.recent) == RECENT:
            self.recent_set.discard(self.recent[0])
        self.recent.append(charger_at)
        self.recent_set.add(charger_at)
        self.newest_at = max(self.newest_at, charger_at)
        return False

    def _queued(self, charger_at: int, received_at: int) -> bool:
        """A transaction message stamped before this connection opened (by the charger's
        clock as estimated so far), or hours before it arrived, was queued, not sent live: a
        back-fill after weeks offline (Q33) is the age of the queue, not the clock's offset.
        (A clock hours behind still shows in its status notifications, which are not
        queued.)"""
        at = self.correct(charger_at) or charger_at
        if at < received_at - QUEUED_AGE_NS:
            return True
        return self.connected_at is not None and at < self.connected_at - QUEUED_MARGIN_NS

    def _wrong_date(self, event: CanonicalEvent, estimate: float) -> list[Alert]:
        """Off by more than a day: a wrong date, not a zone (365 days is whole hours too)."""
        self.open_episode = f"{AlertKind.clock_unsynced.value}@{event.frame_id}"
        return [make_alert(AlertKind.clock_unsynced, self.charge_point_id,
                           f"date{event.frame_id}", detected_at=event.server_received_at,
                           event_time=event.charger_at, value=round(estimate, 3), unit="s",
                           frame_id=event.frame_id,
                           message=f"charger clock off by {estimate / DAY_S:+.1f} days: its "
                                   "date is wrong", detail=event.charger_at_raw)]

    def _unsynced(self, event: CanonicalEvent) -> list[Alert]:
        if self.unsynced_boot == self.last_boot_frame:
            return []
        self.unsynced_boot = self.last_boot_frame
        return [make_alert(AlertKind.clock_unsynced, self.charge_point_id,
                           f"boot{self.last_boot_frame}", detected_at=event.server_received_at,
                           event_time=event.server_received_at, frame_id=event.frame_id,
                           message="charger clock not set: it sends 1970 timestamps",
                           detail=event.charger_at_raw)]

    def _judge(self, event: CanonicalEvent) -> list[Alert]:
        estimate = self.estimate_s
        if estimate is None:
            return []
        if abs(estimate) <= self.config.drift_alert_s:
            self.open_episode = None
            return []
        if self.open_episode is not None:
            return []
        if abs(estimate) > DAY_S:
            return self._wrong_date(event, estimate)
        hours = round(estimate / HOUR_S)
        whole_hours = hours != 0 and abs(estimate - hours * HOUR_S) <= 120.0
        kind = AlertKind.clock_timezone_offset if whole_hours else AlertKind.clock_drift
        self.open_episode = f"{kind.value}@{event.frame_id}"
        what = f"{hours:+d} h time-zone offset" if whole_hours else f"{estimate:+.0f} s drift"
        return [make_alert(kind, self.charge_point_id, f"frame{event.frame_id}",
                           detected_at=event.server_received_at, event_time=event.charger_at,
                           value=round(estimate, 3), unit="s", frame_id=event.frame_id,
                           message=f"charger clock off by {what}")]
