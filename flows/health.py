"""Charger health: connectivity, heartbeats, response times, power; one row per minute.

Also the charger-level alerts: ``charger_offline`` (disconnected ``offline_after_s`` and not
back), ``flapping_connection`` (``flap_connects`` reconnects within ``flap_window_s`` that were
not reboots: a connection whose first message is a BootNotification is counted by the boot loop
detector instead, so one rebooting charger raises one alert, not two; and a connection whose
predecessor's end was never recorded — the server went down under it — is not counted either),
``boot_loop`` (``boot_loop_boots`` boots within ``boot_loop_window_s``; critical when it follows
a firmware update).

Minutes are server time. A minute's counters are the events received in it; its state
(online, drift, sessions running, power, firmware) is the charger's at its end; it closes when
the charger's next event comes after its end, or when the flow's clock is ``minute_grace_s``
past it, whichever is first, and its ``updated_at`` is its end plus the grace. So a minute's
row does not depend on how the frames were batched: a replay writes the live flow's rows
(``ChargerPipeline`` brings a charger to each minute's end, timers included, before closing
it; ``tests/flows/test_health_minutes.py``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from canonical.enums import AlertKind, EventType
from canonical.events import CanonicalEvent
from canonical.findings import Alert, ChargerHealth
from flows.alerts import make_alert
from flows.config import FlowConfig, S

if TYPE_CHECKING:
    from flows.charger import ChargerPipeline

MINUTE = 60 * S
MAX_BACKFILL_MINUTES = 24 * 60  # minutes closed at once: the older ones get no row
MAX_SLOTS = 64  # connectors whose power is summed; a charger chooses their ids


@dataclass(frozen=True, slots=True)
class MinuteRun:
    """The rows of ``count`` minutes in which nothing happened: ``first``, then the same a
    minute later each time (``minute`` and ``updated_at`` move on, nothing else can). A
    replay's clock closes a charger's quiet stretch at once — in the fleet day, two rows in
    three (97,194 of 143,705 for 100 chargers) — and built record by record those rows were a
    fifth of its CPU; they are packed as Arrow (``flows.shard``)."""

    first: ChargerHealth
    count: int


@dataclass(slots=True)
class Minute:
    """Counters of the minute being filled."""

    reconnects: int = 0
    heartbeats: int = 0
    frames_in: int = 0
    online_ns: int = 0
    response_ms: list[float] = field(default_factory=list)
    heartbeat_gaps_s: list[float] = field(default_factory=list)


class HealthTracker:
    TIMED: ClassVar[bool] = True
    KINDS: ClassVar[frozenset[AlertKind]] = frozenset({
        AlertKind.charger_offline, AlertKind.boot_loop, AlertKind.flapping_connection})

    """One charger's connectivity and its per-minute rows. ``apply``/``advance`` → alerts."""

    def __init__(self, charge_point_id: str, config: FlowConfig) -> None:
        self.charge_point_id = charge_point_id
        self.config = config
        self.online = False
        self.online_since: int | None = None
        self.offline_since: int | None = None
        self.offline_alerted = False
        self.last_seen = 0
        self.last_heartbeat: int | None = None
        self.minute_start: int | None = None
        self.minute = Minute()
        self.connects: deque[int] = deque(maxlen=64)
        self.ever_connected = False
        self.pending_connect: tuple[int, int] | None = None  # (at, frame id): reboot or not?
        self.boots: deque[int] = deque(maxlen=64)
        self.flap_alerted_until = 0
        self.loop_alerted_until = 0
        self.firmware_update_at: int | None = None
        self.vendor: str | None = None
        self.model: str | None = None
        self.firmware_version: str | None = None
        self.power_w: dict[str, float] = {}

    def advance(self, now: int, charger: ChargerPipeline) -> list[Alert]:
        return self.offline_alert(now)

    def apply(self, e: CanonicalEvent, charger: ChargerPipeline | None = None) -> list[Alert]:
        t = e.server_received_at
        self.last_seen = max(self.last_seen, t)
        if self.minute_start is None:
            self.minute_start = t - t % MINUTE
        kind = e.event_type
        if kind == EventType.connected:
            return self._connected(e)
        alerts: list[Alert] = []
        if kind == EventType.booted:
            self.pending_connect = None  # that connection was a reboot
        elif self.pending_connect is not None and (
                kind == EventType.disconnected or e.message_id is not None):
            alerts = self._network_reconnect()
        return alerts + self._observe(e, t)

    def _observe(self, e: CanonicalEvent, t: int) -> list[Alert]:
        kind = e.event_type
        if kind == EventType.disconnected:
            self._set_online(False, t)
            return []
        if e.message_id is not None and not self.online:  # an OCPP frame: it is connected
            self._set_online(True, t)
        if e.frame_id and e.event_id.endswith(":0"):
            self.minute.frames_in += 1
        if kind == EventType.heartbeat:
            self._heartbeat(t)
        elif kind == EventType.call_answered and e.value is not None and e.unit == "ms":
            self.minute.response_ms.append(e.value)
        elif kind == EventType.booted:
            return self._booted(e)
        elif kind == EventType.firmware_status and e.status in ("Installing", "Installed"):
            self.firmware_update_at = t
        elif kind == EventType.meter_sample and e.measurand == "Power.Active.Import" \
                and e.phase is None and e.value is not None:
            slot = str(e.evse_id or e.connector_id)
            self.power_w.pop(slot, None)
            self.power_w[slot] = e.value
            if len(self.power_w) > MAX_SLOTS:  # charger-chosen ids: bounded
                del self.power_w[next(iter(self.power_w))]
        elif kind == EventType.transaction_stopped:
            self.power_w.pop(str(e.evse_id or e.connector_id), None)
        return []

    def quiet(self) -> bool:
        """Heartbeats now only count (``absorb_heartbeats``): the charger is online with no
        reconnect waiting for its first message, so none changes its connectivity and its
        offline timer cannot fire."""
        return self.online and self.pending_connect is None

    def absorb_heartbeats(self, times: list[int], counted: int) -> None:
        """What ``apply`` does with heartbeat events at ``times`` (server ns, in arrival
        order, none past the open minute's end) while ``quiet`` holds; ``counted`` of them
        have a frame id (``frames_in``)."""
        if not times:
            return
        if self.minute_start is None:
            self.minute_start = times[0] - times[0] % MINUTE
        self.last_seen = max(self.last_seen, *times)
        m = self.minute
        m.frames_in += counted
        m.heartbeats += len(times)
        last, gaps = self.last_heartbeat, m.heartbeat_gaps_s
        for t in times:
            if last is not None:
                gaps.append((t - last) / S)
            last = t
        self.last_heartbeat = last

    def _set_online(self, online: bool, t: int) -> None:
        if online == self.online:
            return
        self._count_online(t)
        self.online = online
        self.online_since = t if online else None
        self.offline_since = None if online else t
        if online:
            self.offline_alerted = False
        else:
            self.power_w.clear()

    def _count_online(self, t: int) -> None:
        if self.online and self.online_since is not None and self.minute_start is not None:
            self.minute.online_ns += max(0, t - max(self.online_since, self.minute_start))
            self.online_since = t

    def _heartbeat(self, t: int) -> None:
        self.minute.heartbeats += 1
        if self.last_heartbeat is not None:
            self.minute.heartbeat_gaps_s.append((t - self.last_heartbeat) / S)
        self.last_heartbeat = t

    def _connected(self, e: CanonicalEvent) -> list[Alert]:
        t = e.server_received_at
        alerts = self._network_reconnect()  # the previous connection never booted
        if self.ever_connected:
            self.minute.reconnects += 1
        self.ever_connected = True
        # Still online: the previous connection's end was never recorded (our server was
        # killed or restarted under it), so this reconnect is not the charger's doing.
        self.pending_connect = None if self.online else (t, e.frame_id)
        self._set_online(True, t)
        return alerts

    def _network_reconnect(self) -> list[Alert]:
        """The pending connection was not a reboot: it counts towards flapping."""
        if self.pending_connect is None:
            return []
        t, frame_id = self.pending_connect
        self.pending_connect = None
        self.connects.append(t)
        window = int(self.config.flap_window_s * S)
        recent = [c for c in self.connects if c > t - window]
        if len(recent) < self.config.flap_connects or t < self.flap_alerted_until:
            return []
        self.flap_alerted_until = t + window
        return [make_alert(AlertKind.flapping_connection, self.charge_point_id, f"{recent[0]}",
                           detected_at=t, event_time=recent[0], value=len(recent),
                           unit="connects", frame_id=frame_id,
                           message=f"{len(recent)} reconnects without a reboot within "
                                   f"{self.config.flap_window_s / 60:.0f} min")]

    def _booted(self, e: CanonicalEvent) -> list[Alert]:
        t = e.server_received_at
        changed = self.firmware_version is not None and e.firmware_version != self.firmware_version
        if changed:
            self.firmware_update_at = t
        self.vendor, self.model = e.vendor, e.model
        self.firmware_version = e.firmware_version
        self.boots.append(t)
        window = int(self.config.boot_loop_window_s * S)
        recent = [b for b in self.boots if b > t - window]
        if len(recent) < self.config.boot_loop_boots or t < self.loop_alerted_until:
            return []
        self.loop_alerted_until = t + window
        after_update = self.firmware_update_at is not None and \
            self.firmware_update_at >= t - 6 * 3600 * S
        return [make_alert(AlertKind.boot_loop, self.charge_point_id, f"{recent[0]}",
                           detected_at=t, event_time=recent[0], value=len(recent), unit="boots",
                           frame_id=e.frame_id, detail=e.firmware_version,
                           message=f"{len(recent)} boots within "
                                   f"{self.config.boot_loop_window_s / 60:.0f} min"
                                   + (" after a firmware update" if after_update else ""))]

    def offline_alert(self, now: int) -> list[Alert]:
        if self.online or self.offline_since is None or self.offline_alerted:
            return []
        deadline = self.offline_since + int(self.config.offline_after_s * S)
        if now < deadline:
            return []
        self.offline_alerted = True
        return [make_alert(AlertKind.charger_offline, self.charge_point_id,
                           f"{self.offline_since}", detected_at=deadline,
                           event_time=self.offline_since,
                           value=self.config.offline_after_s, unit="s",
                           message="charger disconnected and not back after "
                                   f"{self.config.offline_after_s / 60:.0f} min")]

    def minute_end(self) -> int | None:
        """The end of the open minute (server ns); None before the first event."""
        return None if self.minute_start is None else self.minute_start + MINUTE

    def minutes_to_close(self, at: int) -> int:
        """How many minutes have ended by ``at``; past ``MAX_BACKFILL_MINUTES`` the oldest
        are dropped (no row) and the rest counted."""
        if self.minute_start is None or at < self.minute_start + MINUTE:
            return 0
        ended = (at - self.minute_start) // MINUTE
        if ended > MAX_BACKFILL_MINUTES:
            self.minute = Minute()
            self.minute_start += (ended - MAX_BACKFILL_MINUTES) * MINUTE
            return MAX_BACKFILL_MINUTES
        return int(ended)

    def close_minute(self, drift_s: float | None, sessions_active: int) -> ChargerHealth:
        """The open minute's row, the charger as it is now (the caller has brought it to
        the minute's end); the next minute opens."""
        assert self.minute_start is not None
        end = self.minute_start + MINUTE
        row = self._row(end, drift_s, sessions_active)
        self.minute, self.minute_start = Minute(), end
        return row

    def close_silent(self, count: int, drift_s: float | None) -> MinuteRun:
        """The next ``count`` minutes, closed as one run: no event comes in them and no
        session runs (so no timer changes a row). Past the first, each starts blank and, if
        the charger is online, online since its start: the same row."""
        first = self.close_minute(drift_s, 0)
        assert self.minute_start is not None
        self.minute_start += (count - 1) * MINUTE
        if self.online:
            self.online_since = self.minute_start
        return MinuteRun(first, count)

    def _row(self, end: int, drift_s: float | None, active: int) -> ChargerHealth:
        self._count_online(end)
        m, start = self.minute, end - MINUTE
        gaps, resp = m.heartbeat_gaps_s, m.response_ms
        return ChargerHealth(
            charge_point_id=self.charge_point_id, minute=start,
            online=self.online or m.online_ns > 0, online_s=m.online_ns / S,
            reconnects=m.reconnects, heartbeats=m.heartbeats,
            heartbeat_interval_s=sum(gaps) / len(gaps) if gaps else None,
            response_time_ms=sum(resp) / len(resp) if resp else None, frames_in=m.frames_in,
            vendor=self.vendor, model=self.model, firmware_version=self.firmware_version,
            drift_s=drift_s, sessions_active=active,
            power_w=sum(self.power_w.values()) if self.power_w else None,
            updated_at=end + int(self.config.minute_grace_s * S))
