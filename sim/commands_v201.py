"""OCPP 2.0.1: how a simulated charging station answers each central-system CALL, and what
it sends after (``sim.responder`` keeps the state and the shared follow-ups).

Every 2.0.1 CSMS-initiated action has a schema-valid answer: real behaviour for
transactions, reset, trigger, availability, the device model (variables and reports),
firmware, logs, local list, reservations and charging profiles; a plain refusal (Rejected,
NotFound, EmptyResultSet, ...) for display messages, monitoring, certificates and the
network profile, which a simulated station has none of. Anything else is ``NotImplemented``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from sim import firmware as fw
from sim import messages as m
from sim import responder as r
from sim.profiles import TRIGGER_METER_NOT_IMPLEMENTED
from sim.session import run_remote
from sim.wire import Reply

if TYPE_CHECKING:
    from sim.charger import SimCharger

Handler = Callable[["SimCharger", dict[str, Any]], Reply]
Sender = Callable[["SimCharger"], Coroutine[Any, Any, None]]
V201 = "ocpp2.0.1"
#: Device-model items per NotifyReport.
REPORT_ITEMS = 8
IMMEDIATE = r.StopCause("", "ImmediateReset", "ResetCommand")


def _status(status: str, then: Callable[[], Coroutine[Any, Any, None]] | None = None) -> Reply:
    return Reply({"status": status}, then=then)


# -- transactions -----------------------------------------------------------------------
def request_start(c: SimCharger, p: dict[str, Any]) -> Reply:
    """Accepted with the transactionId it will use, then Started (triggerReason RemoteStart,
    its remoteStartId); Rejected when EVSE 1 cannot start one."""
    id_tag, remote_start_id = str(p["idToken"]["idToken"]), int(p["remoteStartId"])
    if p.get("evseId", 1) != 1 or not r.may_start_remotely(c, id_tag,
                                                           "AuthCtrlr/AuthorizeRemoteStart"):
        return _status("Rejected")
    r.start_remotely(c)
    tx_id = c.new_tx_id()
    return Reply({"status": "Accepted", "transactionId": tx_id},
                 then=lambda: run_remote(c, id_tag, tx_id, remote_start_id))


def request_stop(c: SimCharger, p: dict[str, Any]) -> Reply:
    tx_id, tx = str(p["transactionId"]), c.connector.tx
    if tx is None or tx.id != tx_id:
        return _status("Rejected")
    c.connector.request_stop(r.REMOTE)
    return _status("Accepted")


def get_transaction_status(c: SimCharger, p: dict[str, Any]) -> Reply:
    """Whether that transaction still runs here; nothing queued (it sends live)."""
    out: dict[str, Any] = {"messagesInQueue": False}
    if "transactionId" in p:
        tx = c.connector.tx
        out["ongoingIndicator"] = tx is not None and tx.id == str(p["transactionId"])
    return Reply(out)


def unlock(c: SimCharger, p: dict[str, Any]) -> Reply:
    """Unlocked; OngoingAuthorizedTransaction while a transaction runs (the spec's F05)."""
    if (int(p["evseId"]), int(p["connectorId"])) != (1, 1):
        return _status("UnknownConnector")
    return _status("OngoingAuthorizedTransaction" if c.connector.tx else "Unlocked")


def reset(c: SimCharger, p: dict[str, Any]) -> Reply:
    """Immediate: the transaction ends (ImmediateReset), then a reboot. OnIdle: Scheduled
    while one runs, the reboot after it ends."""
    kind = p["type"]
    if kind not in ("Immediate", "OnIdle"):
        raise ValueError(f"Reset type {kind!r}: Immediate or OnIdle")
    if p.get("evseId") not in (None, 1):
        return _status("Rejected")
    busy = not c.connector.idle.is_set()
    cause = IMMEDIATE if kind == "Immediate" else None
    return _status("Scheduled" if busy and cause is None else "Accepted",
                   lambda: r.reboot_after(c, cause, "RemoteReset"))


def change_availability(c: SimCharger, p: dict[str, Any]) -> Reply:
    kind, evse = p["operationalStatus"], p.get("evse") or {"id": 0}
    if kind not in ("Inoperative", "Operative"):
        raise ValueError(f"operationalStatus {kind!r}")
    if int(evse["id"]) not in (0, 1):
        return _status("Rejected")
    return r.change_availability(c, kind == "Operative")


# -- trigger ----------------------------------------------------------------------------
async def _status_of(c: SimCharger) -> None:
    await c.call(*c.status_call(1, c.connector.status))


async def _meter_values(c: SimCharger) -> None:
    reading = r.trigger_reading(c)
    await c.call("MeterValues", {"evseId": 1, "meterValue": [m.meter_value(reading, V201)]})


async def _transaction_event(c: SimCharger) -> None:
    tx = c.connector.tx
    if tx is None:
        return
    reading = r.trigger_reading(c)
    await c.call("TransactionEvent", m.transaction_event(
        "Updated", tx.id, tx.next_seq(), reading.stamp, [reading],
        "Charging" if reading.power_w else "SuspendedEV", trigger="Trigger"))


async def _heartbeat(c: SimCharger) -> None:
    await c.call("Heartbeat", {})


async def _boot(c: SimCharger) -> None:
    await c.call("BootNotification", c.boot_payload("Triggered"))


async def _firmware(c: SimCharger) -> None:
    await c.call("FirmwareStatusNotification", fw.status_payload(c))


async def _log(c: SimCharger) -> None:
    await c.call("LogStatusNotification", r.upload_payload(c))


TRIGGERS: dict[str, Sender] = {
    "StatusNotification": _status_of, "MeterValues": _meter_values,
    "TransactionEvent": _transaction_event, "Heartbeat": _heartbeat, "BootNotification": _boot,
    "FirmwareStatusNotification": _firmware, "LogStatusNotification": _log}


def trigger(c: SimCharger, p: dict[str, Any]) -> Reply:
    """Accepted, then the message; Rejected for an EVSE it does not have or a
    TransactionEvent with none running; NotImplemented for a message it cannot send."""
    requested, evse = str(p["requestedMessage"]), p.get("evse") or {"id": 1}
    if int(evse["id"]) != 1:
        return _status("Rejected")
    sender = TRIGGERS.get(requested)
    if sender is None or (requested == "MeterValues"
                          and c.has_trait(TRIGGER_METER_NOT_IMPLEMENTED)):
        return _status("NotImplemented")
    if requested == "TransactionEvent" and c.connector.tx is None:
        return _status("Rejected")
    return _status("Accepted", lambda: sender(c))


# -- device model -----------------------------------------------------------------------
def _components(c: SimCharger) -> set[str]:
    return {name.split("/")[0] for name in c.cmd.settings}


def _get_one(c: SimCharger, item: dict[str, Any]) -> dict[str, Any]:
    component, variable = item["component"], item["variable"]
    name = f"{component['name']}/{variable['name']}"
    out: dict[str, Any] = {"component": component, "variable": variable}
    value = r.read_setting(c, name)
    if item.get("attributeType", "Actual") != "Actual":
        return out | {"attributeStatus": "NotSupportedAttributeType"}
    if value is None:
        known = component["name"] in _components(c)
        return out | {"attributeStatus": "UnknownVariable" if known else "UnknownComponent"}
    return out | {"attributeStatus": "Accepted", "attributeValue": value}


def get_variables(c: SimCharger, p: dict[str, Any]) -> Reply:
    return Reply({"getVariableResult": [_get_one(c, item) for item in p["getVariableData"]]})


def _set_one(c: SimCharger, item: dict[str, Any]) -> dict[str, Any]:
    component, variable = item["component"], item["variable"]
    out: dict[str, Any] = {"component": component, "variable": variable}
    if item.get("attributeType", "Actual") != "Actual":
        return out | {"attributeStatus": "NotSupportedAttributeType"}
    status = r.write_setting(c, f"{component['name']}/{variable['name']}",
                             str(item["attributeValue"]))
    if status == "NotSupported":
        known = component["name"] in _components(c)
        status = "UnknownVariable" if known else "UnknownComponent"
    return out | {"attributeStatus": status}


def set_variables(c: SimCharger, p: dict[str, Any]) -> Reply:
    return Reply({"setVariableResult": [_set_one(c, item) for item in p["setVariableData"]]})


def _report_item(c: SimCharger, name: str) -> dict[str, Any]:
    component, variable = name.split("/")
    value = r.read_setting(c, name) or ""
    kind = ("integer" if value.isdigit() else
            "boolean" if value in ("true", "false") else "string")
    mutability = "ReadOnly" if name in c.cmd.read_only else "ReadWrite"
    return {"component": {"name": component}, "variable": {"name": variable},
            "variableAttribute": [{"type": "Actual", "value": value,
                                   "mutability": mutability}],
            "variableCharacteristics": {"dataType": kind, "supportsMonitoring": False}}


async def _notify_report(c: SimCharger, request_id: int, names: list[str]) -> None:
    """The items in NotifyReports of ``REPORT_ITEMS``, seqNo from 0, tbc on all but the last."""
    chunks = [names[i:i + REPORT_ITEMS] for i in range(0, len(names), REPORT_ITEMS)]
    for seq_no, chunk in enumerate(chunks):
        await c.call("NotifyReport", {
            "requestId": request_id, "generatedAt": c.stamp(), "seqNo": seq_no,
            "tbc": seq_no < len(chunks) - 1,
            "reportData": [_report_item(c, name) for name in chunk]})


def get_base_report(c: SimCharger, p: dict[str, Any]) -> Reply:
    request_id, base = int(p["requestId"]), p["reportBase"]
    if base not in ("ConfigurationInventory", "FullInventory", "SummaryInventory"):
        raise ValueError(f"reportBase {base!r}")
    names = sorted(c.cmd.settings)
    return _status("Accepted", lambda: _notify_report(c, request_id, names))


def get_report(c: SimCharger, p: dict[str, Any]) -> Reply:
    """The variables named by ``componentVariable`` (a component alone: all of it)."""
    request_id, wanted = int(p["requestId"]), p.get("componentVariable") or []
    names = sorted(n for n in c.cmd.settings if not wanted or any(
        n.split("/")[0] == w["component"]["name"]
        and (w.get("variable") is None or n.split("/")[1] == w["variable"]["name"])
        for w in wanted))
    if not names:
        return _status("EmptyResultSet")
    return _status("Accepted", lambda: _notify_report(c, request_id, names))


# -- files, lists, reservations, profiles -----------------------------------------------
def update_firmware(c: SimCharger, p: dict[str, Any]) -> Reply:
    request_id, firmware = int(p["requestId"]), p["firmware"]
    location, _ = str(firmware["location"]), firmware["retrieveDateTime"]
    return _status("Accepted", lambda: fw.update_firmware(c, location, request_id))


def get_log(c: SimCharger, p: dict[str, Any]) -> Reply:
    request_id, kind = int(p["requestId"]), str(p["logType"])
    location = str(p["log"]["remoteLocation"])
    c.cmd.log_request_id = request_id
    file_name = f"{c.plan.charge_point_id}-{kind}-{request_id}.log"
    return Reply({"status": "Accepted", "filename": file_name},
                 then=lambda: r.upload(c, location, file_name))


def send_local_list(c: SimCharger, p: dict[str, Any]) -> Reply:
    version, update = int(p["versionNumber"]), str(p["updateType"])
    entries = {str(e["idToken"]["idToken"]): e.get("idTokenInfo")
               for e in p.get("localAuthorizationList") or ()}
    if not r.setting_on(c, "LocalAuthListCtrlr/Enabled"):
        return _status("Failed")
    return _status(r.apply_local_list(c, version, update, entries))


def reserve_now(c: SimCharger, p: dict[str, Any]) -> Reply:
    reservation_id, id_tag = int(p["id"]), str(p["idToken"]["idToken"])
    _ = p["expiryDateTime"]
    if p.get("evseId", 1) != 1:
        return _status("Rejected")
    return r.reserve(c, reservation_id, id_tag)


def set_charging_profile(c: SimCharger, p: dict[str, Any]) -> Reply:
    evse, profile = int(p["evseId"]), dict(p["chargingProfile"])
    purpose = profile["chargingProfilePurpose"]
    if evse not in (0, 1) or (purpose == "TxProfile" and c.connector.tx is None):
        return _status("Rejected")
    r.keep_profile(c, {"evseId": evse}, profile)
    return _status("Accepted")


def clear_charging_profile(c: SimCharger, p: dict[str, Any]) -> Reply:
    criteria = p.get("chargingProfileCriteria") or {}
    gone = r.profiles_matching(c, {"id": p.get("chargingProfileId"),
                                   "evseId": criteria.get("evseId"),
                                   "chargingProfilePurpose": criteria.get(
                                       "chargingProfilePurpose"),
                                   "stackLevel": criteria.get("stackLevel")})
    c.cmd.charging_profiles = [x for x in c.cmd.charging_profiles if x not in gone]
    return _status("Accepted" if gone else "Unknown")


def get_composite_schedule(c: SimCharger, p: dict[str, Any]) -> Reply:
    duration, evse = int(p["duration"]), int(p["evseId"])
    kept = [x for x in c.cmd.charging_profiles if x["evseId"] in (0, evse)]
    if evse not in (0, 1) or not kept:
        return _status("Rejected")
    schedule = max(kept, key=lambda x: int(x["stackLevel"]))["chargingSchedule"][0]
    return Reply({"status": "Accepted", "schedule": {
        "evseId": evse, "duration": duration, "scheduleStart": c.stamp(),
        "chargingRateUnit": schedule["chargingRateUnit"],
        "chargingSchedulePeriod": schedule["chargingSchedulePeriod"]}})


def get_charging_profiles(c: SimCharger, p: dict[str, Any]) -> Reply:
    request_id, criteria = int(p["requestId"]), p["chargingProfile"]
    found = r.profiles_matching(c, {"evseId": p.get("evseId"),
                                    "chargingProfilePurpose": criteria.get(
                                        "chargingProfilePurpose"),
                                    "stackLevel": criteria.get("stackLevel")})
    if not found:
        return _status("NoProfiles")
    report = {"requestId": request_id, "chargingLimitSource": "CSO", "tbc": False,
              "evseId": int(found[0]["evseId"]),
              "chargingProfile": [{k: v for k, v in x.items() if k != "evseId"} for x in found]}
    return _status("Accepted", lambda: _send(c, "ReportChargingProfiles", report))


async def _send(c: SimCharger, action: str, payload: dict[str, Any]) -> None:
    await c.call(action, payload)


def _fixed(payload: dict[str, Any]) -> Handler:
    return lambda _c, _p: Reply(payload)


def _monitoring_refused(_c: SimCharger, p: dict[str, Any]) -> Reply:
    return Reply({"setMonitoringResult": [
        {"status": "Rejected", "type": d["type"], "severity": d["severity"],
         "component": d["component"], "variable": d["variable"]}
        for d in p["setMonitoringData"]]})


HANDLERS: dict[str, Handler] = {
    "RequestStartTransaction": request_start, "RequestStopTransaction": request_stop,
    "GetTransactionStatus": get_transaction_status, "UnlockConnector": unlock,
    "Reset": reset, "ChangeAvailability": change_availability, "TriggerMessage": trigger,
    "GetVariables": get_variables, "SetVariables": set_variables,
    "GetBaseReport": get_base_report, "GetReport": get_report,
    "UpdateFirmware": update_firmware, "GetLog": get_log, "SendLocalList": send_local_list,
    "GetLocalListVersion": lambda c, _p: Reply(
        {"versionNumber": c.cmd.local_list_version}),
    "ReserveNow": reserve_now,
    "CancelReservation": lambda c, p: r.cancel_reservation(c, int(p["reservationId"])),
    "SetChargingProfile": set_charging_profile, "ClearChargingProfile": clear_charging_profile,
    "GetCompositeSchedule": get_composite_schedule,
    "GetChargingProfiles": get_charging_profiles,
    "ClearCache": _fixed({"status": "Accepted"}),
    "DataTransfer": _fixed({"status": "UnknownVendorId"}),
    "CostUpdated": _fixed({}),
    "ClearVariableMonitoring": lambda _c, p: Reply({"clearMonitoringResult": [
        {"status": "NotFound", "id": int(i)} for i in p["id"]]}),
    "SetVariableMonitoring": _monitoring_refused,
    **{action: _fixed({"status": status}) for action, status in (
        ("CertificateSigned", "Rejected"), ("ClearDisplayMessage", "Unknown"),
        ("CustomerInformation", "Rejected"), ("DeleteCertificate", "NotFound"),
        ("GetDisplayMessages", "Unknown"), ("GetInstalledCertificateIds", "NotFound"),
        ("GetMonitoringReport", "EmptyResultSet"), ("InstallCertificate", "Rejected"),
        ("PublishFirmware", "Rejected"), ("SetDisplayMessage", "Rejected"),
        ("SetMonitoringBase", "NotSupported"), ("SetMonitoringLevel", "Rejected"),
        ("SetNetworkProfile", "Rejected"), ("UnpublishFirmware", "NoFirmware"))},
}
