"""Charger health: connectivity, heartbeats, response times, power; one row per minute.

Also the charger-level alerts: ``charger_offline`` (disconnected ``offline_after_s`` and not
back), ``flapping_connection`` (``flap_connects`` reconnects within ``flap_window_s`` that were
not reboots: a connection whose first message is a BootNotification is counted by the boot loop
detector instead, so one rebooting charger raises one alert, not two; and a connection whose
predecessor's end was never recorded — the server went down under it — is not counted either),
``boot_loop`` (``boot_loop_boots`` boots within ``boot_loop_window_s``; critical when it follows
a firmware update). Minutes are server time; a minute closes ``minute_grace_s`` after its end.
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
MAX_BACKFILL_MINUTES = 24 * 60
MAX_SLOTS = 64  # connectors whose power is summed; a charger chooses their ids


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
        if e.message_id is not None:  # an OCPP frame from the charger: it is connected
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

    def close_minutes(self, now: int, drift_s: float | None, sessions_active: int
                      ) -> list[ChargerHealth]:
        """Rows for every minute that ended ``minute_grace_s`` before ``now``."""
        rows: list[ChargerHealth] = []
        grace = int(self.config.minute_grace_s * S)
        while self.minute_start is not None and self.minute_start + MINUTE + grace <= now:
            end = self.minute_start + MINUTE
            if len(rows) < MAX_BACKFILL_MINUTES:
                rows.append(self._row(end, drift_s, sessions_active, now))
            self.minute, self.minute_start = Minute(), end
        return rows

    def _row(self, end: int, drift_s: float | None, active: int, now: int) -> ChargerHealth:
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
            updated_at=max(now, end))
