"""OCPP 1.6J: how a simulated charge point answers each central-system CALL, and what it
sends after (``sim.responder`` keeps the state and the shared follow-ups).

Every 1.6 CSMS-initiated action of the Core, Firmware Management, Local Auth List
Management, Reservation, Smart Charging and Remote Trigger profiles has a schema-valid
answer; the security extension's actions are a CALLERROR ``NotSupported`` (a charge point
without it); anything else ``NotImplemented``. A handler reads the fields it needs first, so
a payload missing one is a ``FormationViolation`` (``sim.wire``) before anything changes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from sim import firmware as fw
from sim import messages as m
from sim import responder as r
from sim.profiles import NO_LOCAL_LIST, TRIGGER_METER_NOT_IMPLEMENTED
from sim.session import run_remote
from sim.wire import Reply

if TYPE_CHECKING:
    from sim.charger import SimCharger

Handler = Callable[["SimCharger", dict[str, Any]], Reply]
Sender = Callable[["SimCharger", int | None], Coroutine[Any, Any, None]]
AUTHORIZE_REMOTE = "AuthorizeRemoteTxRequests"


def _status(status: str, then: Callable[[], Coroutine[Any, Any, None]] | None = None) -> Reply:
    return Reply({"status": status}, then=then)


def _connector(p: dict[str, Any], default: int | None = None) -> int | None:
    value = p.get("connectorId", default)
    return None if value is None else int(value)


# -- transactions -----------------------------------------------------------------------
def remote_start(c: SimCharger, p: dict[str, Any]) -> Reply:
    id_tag, connector = str(p["idTag"]), _connector(p, 1)
    if connector != 1 or not r.may_start_remotely(c, id_tag, AUTHORIZE_REMOTE):
        return _status("Rejected")
    r.start_remotely(c)
    authorize = r.setting_on(c, AUTHORIZE_REMOTE)
    return _status("Accepted", lambda: run_remote(c, id_tag, authorize=authorize))


def remote_stop(c: SimCharger, p: dict[str, Any]) -> Reply:
    tx_id, tx = int(p["transactionId"]), c.connector.tx
    if tx is None or tx.id != str(tx_id):
        return _status("Rejected")
    c.connector.request_stop(r.REMOTE)
    return _status("Accepted")


def unlock(c: SimCharger, p: dict[str, Any]) -> Reply:
    if _connector(p) != 1:
        return _status("NotSupported")
    if c.connector.tx is not None:
        c.connector.request_stop(r.UNLOCK)
    return _status("Unlocked")


def reset(c: SimCharger, p: dict[str, Any]) -> Reply:
    kind = p["type"]
    if kind not in ("Soft", "Hard"):
        raise ValueError(f"Reset type {kind!r}: Soft or Hard")
    cause = r.SOFT_RESET if kind == "Soft" else r.HARD_RESET
    return _status("Accepted", lambda: r.reboot_after(c, cause, "RemoteReset"))


def change_availability(c: SimCharger, p: dict[str, Any]) -> Reply:
    connector, kind = _connector(p), p["type"]
    if kind not in ("Inoperative", "Operative"):
        raise ValueError(f"ChangeAvailability type {kind!r}")
    if connector not in (0, 1):
        return _status("Rejected")
    return r.change_availability(c, kind == "Operative")


# -- trigger ----------------------------------------------------------------------------
async def _status_of(c: SimCharger, connector: int | None) -> None:
    if connector in (None, 0):  # the charge point itself
        await c.call(*c.status_call(0, "Available" if c.connector.operative else "Unavailable"))
    if connector in (None, 1):
        await c.call(*c.status_call(1, c.connector.status))


async def _meter_values(c: SimCharger, _connector: int | None) -> None:
    tx = c.connector.tx
    await c.call("MeterValues", m.triggered_meter_values(
        int(tx.id) if tx is not None else None, r.trigger_reading(c)))


async def _heartbeat(c: SimCharger, _connector: int | None) -> None:
    await c.call("Heartbeat", {})


async def _boot(c: SimCharger, _connector: int | None) -> None:
    await c.call("BootNotification", c.boot_payload())


async def _firmware(c: SimCharger, _connector: int | None) -> None:
    await c.call("FirmwareStatusNotification", fw.status_payload(c))


async def _diagnostics(c: SimCharger, _connector: int | None) -> None:
    await c.call("DiagnosticsStatusNotification", r.upload_payload(c))


TRIGGERS: dict[str, Sender] = {
    "StatusNotification": _status_of, "MeterValues": _meter_values, "Heartbeat": _heartbeat,
    "BootNotification": _boot, "FirmwareStatusNotification": _firmware,
    "DiagnosticsStatusNotification": _diagnostics}


def trigger(c: SimCharger, p: dict[str, Any]) -> Reply:
    """Accepted, then the message; Rejected for a connector it does not have; NotImplemented
    for a message it cannot send (a MeterValues, for some vendors)."""
    requested, connector = str(p["requestedMessage"]), _connector(p)
    if connector not in (None, 0, 1):
        return _status("Rejected")
    sender = TRIGGERS.get(requested)
    if sender is None or (requested == "MeterValues"
                          and c.has_trait(TRIGGER_METER_NOT_IMPLEMENTED)):
        return _status("NotImplemented")
    return _status("Accepted", lambda: sender(c, connector))


# -- configuration ----------------------------------------------------------------------
def get_configuration(c: SimCharger, p: dict[str, Any]) -> Reply:
    asked = [str(k) for k in p.get("key") or ()] or list(c.cmd.settings)
    known = [k for k in asked if k in c.cmd.settings]
    out: dict[str, Any] = {"configurationKey": [
        {"key": k, "readonly": k in c.cmd.read_only, "value": r.read_setting(c, k)}
        for k in known]}
    unknown = [k for k in asked if k not in c.cmd.settings]
    if unknown:
        out["unknownKey"] = unknown
    return Reply(out)


def change_configuration(c: SimCharger, p: dict[str, Any]) -> Reply:
    return _status(r.write_setting(c, str(p["key"]), str(p["value"])))


# -- local list -------------------------------------------------------------------------
def _list_enabled(c: SimCharger) -> bool:
    return not c.has_trait(NO_LOCAL_LIST) and r.setting_on(c, "LocalAuthListEnabled")


def get_local_list_version(c: SimCharger, _p: dict[str, Any]) -> Reply:
    """-1 when the list is not supported or not enabled (EVerest/libocpp#679), else its
    version (0: none sent yet)."""
    return Reply({"listVersion": c.cmd.local_list_version if _list_enabled(c) else -1})


def send_local_list(c: SimCharger, p: dict[str, Any]) -> Reply:
    version, update = int(p["listVersion"]), str(p["updateType"])
    entries = {str(e["idTag"]): e.get("idTagInfo") for e in p.get("localAuthorizationList") or ()}
    if c.has_trait(NO_LOCAL_LIST):
        return _status("NotSupported")
    most = int(c.cmd.settings.get("SendLocalListMaxLength", "0"))
    if not _list_enabled(c) or len(entries) > most:
        return _status("Failed")
    return _status(r.apply_local_list(c, version, update, entries))


# -- files: diagnostics, firmware -------------------------------------------------------
def get_diagnostics(c: SimCharger, p: dict[str, Any]) -> Reply:
    location = str(p["location"])
    file_name = f"{c.plan.charge_point_id}-diagnostics-{c.boots}.txt"
    return Reply({"fileName": file_name}, then=lambda: r.upload(c, location, file_name))


def update_firmware(c: SimCharger, p: dict[str, Any]) -> Reply:
    location, _ = str(p["location"]), p["retrieveDate"]
    return Reply({}, then=lambda: fw.update_firmware(c, location, None))


# -- reservations, smart charging, the rest ---------------------------------------------
def reserve_now(c: SimCharger, p: dict[str, Any]) -> Reply:
    connector, reservation_id = _connector(p), int(p["reservationId"])
    id_tag, _ = str(p["idTag"]), p["expiryDate"]
    if connector != 1:  # ReserveConnectorZeroSupported is false
        return _status("Rejected")
    return r.reserve(c, reservation_id, id_tag)


def cancel_reservation(c: SimCharger, p: dict[str, Any]) -> Reply:
    return r.cancel_reservation(c, int(p["reservationId"]))


def set_charging_profile(c: SimCharger, p: dict[str, Any]) -> Reply:
    connector, profile = _connector(p), dict(p["csChargingProfiles"])
    purpose = profile["chargingProfilePurpose"]
    if connector not in (0, 1) or (purpose == "TxProfile" and c.connector.tx is None):
        return _status("Rejected")
    r.keep_profile(c, {"connectorId": int(connector or 0)}, profile)
    return _status("Accepted")


def clear_charging_profile(c: SimCharger, p: dict[str, Any]) -> Reply:
    gone = r.profiles_matching(c, {"chargingProfileId": p.get("id"),
                                   "connectorId": p.get("connectorId"),
                                   "chargingProfilePurpose": p.get("chargingProfilePurpose"),
                                   "stackLevel": p.get("stackLevel")})
    c.cmd.charging_profiles = [x for x in c.cmd.charging_profiles if x not in gone]
    return _status("Accepted" if gone else "Unknown")


def get_composite_schedule(c: SimCharger, p: dict[str, Any]) -> Reply:
    """The kept profile of the highest stack level for the connector (or the whole charge
    point), its periods over ``duration``; Rejected when none applies."""
    connector, duration = int(p["connectorId"]), int(p["duration"])
    kept = [x for x in c.cmd.charging_profiles if x["connectorId"] in (0, connector)]
    if connector not in (0, 1) or not kept:
        return _status("Rejected")
    schedule = max(kept, key=lambda x: int(x["stackLevel"]))["chargingSchedule"]
    return Reply({"status": "Accepted", "connectorId": connector, "scheduleStart": c.stamp(),
                  "chargingSchedule": {
                      "duration": duration, "chargingRateUnit": schedule["chargingRateUnit"],
                      "chargingSchedulePeriod": schedule["chargingSchedulePeriod"]}})


def _not_supported(_c: SimCharger, _p: dict[str, Any]) -> Reply:
    return Reply(error="NotSupported", description="security extension not supported")


HANDLERS: dict[str, Handler] = {
    "RemoteStartTransaction": remote_start, "RemoteStopTransaction": remote_stop,
    "UnlockConnector": unlock, "Reset": reset, "ChangeAvailability": change_availability,
    "TriggerMessage": trigger, "GetConfiguration": get_configuration,
    "ChangeConfiguration": change_configuration,
    "ClearCache": lambda _c, _p: _status("Accepted"),
    "GetLocalListVersion": get_local_list_version, "SendLocalList": send_local_list,
    "GetDiagnostics": get_diagnostics, "UpdateFirmware": update_firmware,
    "ReserveNow": reserve_now, "CancelReservation": cancel_reservation,
    "SetChargingProfile": set_charging_profile,
    "ClearChargingProfile": clear_charging_profile,
    "GetCompositeSchedule": get_composite_schedule,
    "DataTransfer": lambda _c, _p: _status("UnknownVendorId"),
    **{action: _not_supported for action in (
        "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage",
        "GetInstalledCertificateIds", "GetLog", "InstallCertificate", "SignedUpdateFirmware")},
}
