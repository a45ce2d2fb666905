"""How a simulated charger answers the central system's CALLs, and what it keeps to do so.

``answer(c, action, payload)`` is the charger's responder (``sim.wire``): it picks the
protocol's handler (``sim.commands_v16`` / ``sim.commands_v201``), which changes the charger's
state at once (so a second command sees it) and returns the answer with its follow-up
messages. An action the charger does not know is a CALLERROR ``NotImplemented``.

Kept here: the connector (status, availability, reservation, the running transaction and a
request to stop it), the settings (1.6 configuration keys, 2.0.1 variables) and the other
command state; and the follow-ups both protocols share (reboot after a reset, firmware update,
file upload; the firmware update lives in ``sim.firmware``).
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sim.messages import Reading
from sim.profiles import NO_LOCAL_LIST, REMOTE_AUTHORIZE, REMOTE_START_NEEDS_PLUG
from sim.wire import Reply

if TYPE_CHECKING:
    from sim.charger import SimCharger
    from sim.transaction import Tx

V16 = "ocpp1.6"


@dataclass(frozen=True, slots=True)
class StopCause:
    """Why a transaction ends, as each protocol words it."""

    reason_16: str      # 1.6 StopTransaction ``reason``
    stopped_201: str    # 2.0.1 ``stoppedReason``
    trigger_201: str    # 2.0.1 ``triggerReason`` of the Ended


EV_LEFT = StopCause("EVDisconnected", "EVDisconnected", "EVCommunicationLost")
REMOTE = StopCause("Remote", "Remote", "RemoteStop")
UNLOCK = StopCause("UnlockCommand", "Other", "UnlockCommand")
SOFT_RESET = StopCause("SoftReset", "ImmediateReset", "ResetCommand")
HARD_RESET = StopCause("HardReset", "ImmediateReset", "ResetCommand")


@dataclass(slots=True)
class Connector:
    """Connector 1 (2.0.1: EVSE 1, connector 1), the only one a simulated charger has.

    ``idle`` is set while no session holds it; ``tx`` is the running transaction once its
    start was sent; ``stop`` is set (with ``stop_cause``) when a command ends it."""

    status: str = "Available"
    operative: bool = True
    operative_due: bool | None = None     # ChangeAvailability Scheduled: applied when idle
    reservation: tuple[int, str] | None = None   # (reservationId, idTag)
    tx: Tx | None = None
    stop_cause: StopCause | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()

    @property
    def free(self) -> bool:
        """A session may start here: operative, idle, not reserved."""
        return self.operative and self.idle.is_set() and self.reservation is None

    def claim(self) -> None:
        self.idle.clear()
        self.stop.clear()
        self.stop_cause = None

    def release(self) -> None:
        self.tx, self.stop_cause = None, None
        self.stop.clear()
        self.idle.set()

    def request_stop(self, cause: StopCause) -> None:
        self.stop_cause = cause
        self.stop.set()


# -- settings: 1.6 configuration keys, 2.0.1 ``Component/Variable`` -------------------------
HEARTBEAT_16, SAMPLE_16 = "HeartbeatInterval", "MeterValueSampleInterval"
HEARTBEAT_201, SAMPLE_201 = "OCPPCommCtrlr/HeartbeatInterval", "SampledDataCtrlr/TxUpdatedInterval"
PROFILES_16 = "SupportedFeatureProfiles"
LOCAL_LIST_KEYS_16 = ("LocalAuthListEnabled", "LocalAuthListMaxLength", "SendLocalListMaxLength")
_MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import"

#: name: (default value, read-only). The two live ones read and set the charger's pace.
SETTINGS_16: dict[str, tuple[str, bool]] = {
    "AuthorizeRemoteTxRequests": ("false", False), "ClockAlignedDataInterval": ("0", False),
    "ConnectionTimeOut": ("60", False), "GetConfigurationMaxKeys": ("50", True),
    HEARTBEAT_16: ("300", False), "LocalAuthorizeOffline": ("true", False),
    "LocalPreAuthorize": ("false", False), "MeterValuesSampledData": (_MEASURANDS, False),
    SAMPLE_16: ("300", False), "NumberOfConnectors": ("1", True),
    "ResetRetries": ("3", False), "StopTransactionOnEVSideDisconnect": ("true", True),
    "StopTransactionOnInvalidId": ("true", False), "TransactionMessageAttempts": ("3", False),
    "TransactionMessageRetryInterval": ("60", False),
    "UnlockConnectorOnEVSideDisconnect": ("true", False), "WebSocketPingInterval": ("0", False),
    PROFILES_16: ("Core,FirmwareManagement,LocalAuthListManagement,Reservation,"
                  "SmartCharging,RemoteTrigger", True),
    "LocalAuthListEnabled": ("true", False), "LocalAuthListMaxLength": ("100", True),
    "SendLocalListMaxLength": ("50", True), "ReserveConnectorZeroSupported": ("false", True),
    "ChargeProfileMaxStackLevel": ("8", True),
    "ChargingScheduleAllowedChargingRateUnit": ("Current,Power", True),
    "ChargingScheduleMaxPeriods": ("24", True), "MaxChargingProfilesInstalled": ("8", True),
}
SETTINGS_201: dict[str, tuple[str, bool]] = {
    HEARTBEAT_201: ("300", False), SAMPLE_201: ("300", False),
    "SampledDataCtrlr/TxUpdatedMeasurands": (_MEASURANDS, False),
    "AuthCtrlr/AuthorizeRemoteStart": ("false", False),
    "AuthCtrlr/LocalAuthorizeOffline": ("true", False),
    "LocalAuthListCtrlr/Enabled": ("true", False),
    "LocalAuthListCtrlr/ItemsPerMessage": ("50", True),
    "TxCtrlr/EVConnectionTimeOut": ("60", False),
    "TxCtrlr/StopTxOnEVSideDisconnect": ("true", True),
    "TxCtrlr/TxStartPoint": ("PowerPathClosed", False),
    "TxCtrlr/TxStopPoint": ("EVConnected", False),
    "ReservationCtrlr/Enabled": ("true", True), "SmartChargingCtrlr/Enabled": ("true", True),
    "DeviceDataCtrlr/ItemsPerMessage": ("20", True),
    "DeviceDataCtrlr/BytesPerMessage": ("65000", True),
    "SecurityCtrlr/SecurityProfile": ("1", True),
}


@dataclass(slots=True)
class CommandState:
    """What the charger keeps for the central system's commands. A reboot keeps it all
    (settings, local list, charging profiles), as real firmware persists them."""

    settings: dict[str, str]
    read_only: frozenset[str]
    sample_interval_s: float = 300.0     # simulated seconds between a remote session's samples
    local_list: dict[str, Any] | None = None   # idTag: its info; None = no list sent yet
    local_list_version: int = 0
    charging_profiles: list[dict[str, Any]] = field(default_factory=list)
    firmware_status: str = "Idle"
    upload_status: str = "Idle"
    log_request_id: int | None = None
    firmware_request_id: int | None = None

    @classmethod
    def for_protocol(cls, protocol: str, drop: tuple[str, ...] = (),
                     values: dict[str, str] | None = None) -> CommandState:
        """The defaults of ``protocol`` without the settings ``drop``, with ``values`` set."""
        table = SETTINGS_16 if protocol == V16 else SETTINGS_201
        kept = {k: v for k, v in table.items() if k not in drop}
        return cls({k: v for k, (v, _) in kept.items()} | (values or {}),
                   frozenset(k for k, (_, ro) in kept.items() if ro))


def read_setting(c: SimCharger, name: str) -> str | None:
    """Its value as the charger reports it; None when it has no such setting."""
    if name in (HEARTBEAT_16, HEARTBEAT_201) and name in c.cmd.settings:
        return f"{c.heartbeat_s:g}"
    return c.cmd.settings.get(name)


def write_setting(c: SimCharger, name: str, value: str) -> str:
    """``Accepted``, ``Rejected`` (read-only or a value it cannot take) or ``NotSupported``."""
    old = c.cmd.settings.get(name)
    if old is None:
        return "NotSupported"
    if name in c.cmd.read_only or not _fits(old, value):
        return "Rejected"
    c.cmd.settings[name] = value
    if name in (HEARTBEAT_16, HEARTBEAT_201):
        c.set_heartbeat(float(value))
    elif name in (SAMPLE_16, SAMPLE_201):
        c.cmd.sample_interval_s = max(1.0, float(value))
    return "Accepted"


def _fits(old: str, value: str) -> bool:
    """A number stays a whole number >= 0, a boolean a boolean; text takes any text."""
    if old.isdigit():
        return value.isdigit()
    if old in ("true", "false"):
        return value.lower() in ("true", "false")
    return True


def trait_settings(traits: tuple[str, ...], protocol: str) -> tuple[tuple[str, ...],
                                                                    dict[str, str]]:
    """The settings a charger's command traits drop, and the values they set."""
    drop: tuple[str, ...] = ()
    values: dict[str, str] = {}
    if protocol == V16 and NO_LOCAL_LIST in traits:
        drop = LOCAL_LIST_KEYS_16
        values[PROFILES_16] = "Core,FirmwareManagement,Reservation,SmartCharging,RemoteTrigger"
    if protocol == V16 and REMOTE_AUTHORIZE in traits:
        values["AuthorizeRemoteTxRequests"] = "true"
    return drop, values


def setting_on(c: SimCharger, name: str) -> bool:
    return (c.cmd.settings.get(name) or "").lower() == "true"


# -- the responder ----------------------------------------------------------------------
def answer(c: SimCharger, action: str, payload: dict[str, Any]) -> Reply:
    from sim import commands_v16, commands_v201

    handlers = commands_v16.HANDLERS if c.p.protocol == V16 else commands_v201.HANDLERS
    handler = handlers.get(action)
    if handler is None:
        return Reply(error="NotImplemented", description=f"{action} is not implemented")
    return handler(c, payload)


# -- decisions both protocols share -----------------------------------------------------
def may_start_remotely(c: SimCharger, id_tag: str, authorize_setting: str) -> bool:
    """A remote start is accepted on connector 1 when it is operative and idle, reserved for
    no other idTag, and the charger's traits allow it (a car plugged; a known idTag)."""
    conn = c.connector
    if not (conn.operative and conn.idle.is_set()):
        return False
    if conn.reservation is not None and conn.reservation[1] != id_tag:
        return False
    if c.has_trait(REMOTE_START_NEEDS_PLUG) and conn.status != "Preparing":
        return False
    return not (c.has_trait(REMOTE_AUTHORIZE) and setting_on(c, authorize_setting)
                and id_tag not in (c.cmd.local_list or {}))


def start_remotely(c: SimCharger) -> None:
    """Hold the connector for the remote session at once (a reservation is used up)."""
    c.connector.claim()
    c.connector.reservation = None


def change_availability(c: SimCharger, operative: bool) -> Reply:
    """Accepted (its status follows), or Scheduled when a session holds the connector and
    it is to become Inoperative (applied when the transaction ends)."""
    conn = c.connector
    if not conn.idle.is_set():
        conn.operative_due = None if operative else False
        return Reply({"status": "Accepted" if operative else "Scheduled"})
    changed, conn.operative = conn.operative != operative, operative
    if not changed:
        return Reply({"status": "Accepted"})
    return Reply({"status": "Accepted"},
                 then=lambda: c.status(1, "Available" if operative else "Unavailable"))


def reserve(c: SimCharger, reservation_id: int, id_tag: str) -> Reply:
    """Accepted (status Reserved), Unavailable, or Occupied (a session, or another
    reservation); the same reservationId replaces its reservation."""
    conn = c.connector
    if not conn.operative:
        return Reply({"status": "Unavailable"})
    mine = conn.reservation is not None and conn.reservation[0] == reservation_id
    if not conn.idle.is_set() or (conn.reservation is not None and not mine):
        return Reply({"status": "Occupied"})
    conn.reservation = (reservation_id, id_tag)
    return Reply({"status": "Accepted"}, then=lambda: c.status(1, "Reserved"))


def cancel_reservation(c: SimCharger, reservation_id: int) -> Reply:
    conn = c.connector
    if conn.reservation is None or conn.reservation[0] != reservation_id:
        return Reply({"status": "Rejected"})
    conn.reservation = None
    if not conn.idle.is_set():
        return Reply({"status": "Accepted"})
    return Reply({"status": "Accepted"}, then=lambda: c.status(1, "Available"))


def apply_local_list(c: SimCharger, version: int, update: str,
                     entries: dict[str, Any | None]) -> str:
    """SendLocalList: Full replaces the list; Differential needs a list and a higher version
    (an entry without info removes its idTag). Accepted, Failed or VersionMismatch."""
    if update == "Full":
        c.cmd.local_list = {tag: info for tag, info in entries.items() if info is not None}
    elif update == "Differential":
        if c.cmd.local_list is None:
            return "Failed"
        if version <= c.cmd.local_list_version:
            return "VersionMismatch"
        for tag, info in entries.items():
            if info is None:
                c.cmd.local_list.pop(tag, None)
            else:
                c.cmd.local_list[tag] = info
    else:
        raise ValueError(f"updateType {update!r}: Full or Differential")
    c.cmd.local_list_version = version
    return "Accepted"


def trigger_reading(c: SimCharger) -> Reading:
    """The register now, context Trigger (ABB: its session counter while one runs)."""
    now = time.time_ns()
    c.meter.advance(now)
    tx = c.connector.tx
    value = c.meter.reading() - (tx.session_base if tx and c.p.session_register else 0)
    return c.reading(value, "Trigger", c.stamp(now), c.meter.power_w)


def profiles_matching(c: SimCharger, criteria: dict[str, Any]) -> list[dict[str, Any]]:
    """Kept charging profiles whose fields equal every non-None criterion."""
    wanted = {k: v for k, v in criteria.items() if v is not None}
    return [p for p in c.cmd.charging_profiles if all(p.get(k) == v for k, v in wanted.items())]


def keep_profile(c: SimCharger, where: dict[str, int], profile: dict[str, Any]) -> None:
    """Keep ``profile`` (``where``: its connectorId / evseId), replacing one of its id."""
    key = "chargingProfileId" if "chargingProfileId" in profile else "id"
    c.cmd.charging_profiles = [p for p in c.cmd.charging_profiles
                               if p.get(key) != profile[key]]
    c.cmd.charging_profiles.append(profile | where)


# -- follow-ups both protocols share ----------------------------------------------------
REBOOT_S = 30.0     # simulated seconds a reboot keeps the charger away


async def reboot_after(c: SimCharger, cause: StopCause | None, reason: str) -> None:
    """A reset: ``cause`` ends the running transaction (None: wait until it ends), then the
    charger closes its socket, reconnects and boots (2.0.1 boot ``reason``)."""
    if cause is not None and c.connector.tx is not None:
        c.connector.request_stop(cause)
    await c.connector.idle.wait()
    await c.reboot(reason)


def upload_payload(c: SimCharger) -> dict[str, Any]:
    """1.6 DiagnosticsStatusNotification / 2.0.1 LogStatusNotification of the last upload."""
    out: dict[str, Any] = {"status": c.cmd.upload_status}
    if c.p.protocol != V16 and c.cmd.log_request_id is not None:
        out["requestId"] = c.cmd.log_request_id
    return out


async def upload(c: SimCharger, location: str, file_name: str) -> None:
    """Uploading, an HTTP PUT of its log to ``location`` (``file_name`` appended when the
    location ends in ``/``), then Uploaded or (1.6) UploadFailed / (2.0.1) UploadFailure."""
    action = "DiagnosticsStatusNotification" if c.p.protocol == V16 else "LogStatusNotification"
    c.cmd.upload_status = "Uploading"
    await c.call(action, upload_payload(c))
    url = location + file_name if location.endswith("/") else location
    ok = await asyncio.to_thread(put_file, url, log_text(c).encode())
    failed = "UploadFailed" if c.p.protocol == V16 else "UploadFailure"
    c.cmd.upload_status = "Uploaded" if ok else failed
    await c.call(action, upload_payload(c))
    c.cmd.upload_status = "Idle"


def put_file(url: str, body: bytes, timeout_s: float = 10.0) -> bool:
    """PUT ``body`` to an ``http://`` URL; True on a 2xx answer. Blocking: run in a thread."""
    if not url.startswith("http://"):
        return False
    request = urllib.request.Request(url, data=body, method="PUT",
                                     headers={"Content-Type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def log_text(c: SimCharger) -> str:
    return (f"charge point {c.plan.charge_point_id}\nvendor {c.p.vendor} {c.p.model}\n"
            f"firmware {c.firmware}\nboots {c.boots}\nconnector 1 {c.connector.status}\n")
