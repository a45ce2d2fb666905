"""2.0.1 chargers answer CSMS-initiated calls as real ones do; vendor command traits refuse
as their sources show; the stuck-session recovery's faults behave on the wire as labelled.
Real WebSockets to the tiny central system of ``tiny_csms``; answers schema-checked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from sim.charger import SimCharger
from sim.plan import SessionPlan
from sim.session import run_session
from sim.truth import Truth
from tests.sim.tiny_csms import V16, V201, Csms, Uploads, charger, check_schema, csms

Scenario = Callable[[Csms, SimCharger], Awaitable[None]]
TOKEN = {"idToken": "REMOTE1", "type": "ISO14443"}


def run(tmp_path: Path, scenario: Scenario, protocol: str = V201,
        traits: tuple[str, ...] = (), sessions: list[SessionPlan] | None = None,
        fault: str | None = None) -> list[Any]:
    """``scenario`` against one connected charger; the truth rows it wrote."""
    truth_path = tmp_path / f"truth-{protocol}-{'-'.join(traits)}.jsonl"

    async def main() -> None:
        async with csms() as central:
            c = charger(central, protocol, "B", Truth(truth_path), traits=traits,
                        sessions=sessions, fault=fault)
            await c.connect()
            beat = asyncio.create_task(c.heartbeats())
            try:
                await scenario(central, c)
            finally:
                beat.cancel()
                for task in list(c.tasks):
                    task.cancel()
                await c.disconnect()

    asyncio.run(main())
    return [orjson.loads(line) for line in truth_path.read_bytes().splitlines()]


async def started(central: Csms, c: SimCharger, remote_start_id: int = 7) -> str:
    mark = central.mark(c)
    answer = await central.ask(c, "RequestStartTransaction",
                               {"idToken": TOKEN, "remoteStartId": remote_start_id})
    assert answer["status"] == "Accepted"
    event = await central.expect(c, mark, "TransactionEvent",
                                 lambda p: p["eventType"] == "Started")
    info = event.payload["transactionInfo"]
    assert (event.payload["triggerReason"], info["remoteStartId"]) == ("RemoteStart",
                                                                        remote_start_id)
    assert info["transactionId"] == answer["transactionId"]
    assert event.payload["idToken"]["idToken"] == "REMOTE1"
    return str(answer["transactionId"])


def test_request_start_stop_and_transaction_status(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        tx_id = await started(central, c)
        status = {"transactionId": tx_id}
        assert (await central.ask(c, "GetTransactionStatus", status)) == {
            "messagesInQueue": False, "ongoingIndicator": True}
        assert (await central.ask(c, "UnlockConnector", {"evseId": 1, "connectorId": 1}))[
            "status"] == "OngoingAuthorizedTransaction"
        assert (await central.ask(c, "RequestStopTransaction", {"transactionId": "nope"}))[
            "status"] == "Rejected"
        mark = central.mark(c)
        assert (await central.ask(c, "RequestStopTransaction", status))["status"] == "Accepted"
        ended = await central.expect(c, mark, "TransactionEvent",
                                     lambda p: p["eventType"] == "Ended")
        assert ended.payload["triggerReason"] == "RemoteStop"
        assert ended.payload["transactionInfo"]["stoppedReason"] == "Remote"
        await central.expect(c, mark, "StatusNotification",
                             lambda p: p["connectorStatus"] == "Available")
        assert (await central.ask(c, "GetTransactionStatus", status))["ongoingIndicator"] is False
        assert (await central.ask(c, "UnlockConnector", {"evseId": 1, "connectorId": 1}))[
            "status"] == "Unlocked"

    rows = run(tmp_path, scenario)
    assert [(r["type"], r["fault"]) for r in rows] == [("session", None)]


def test_reset_on_idle_waits_immediate_ends_the_transaction(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        tx_id = await started(central, c)
        mark = central.mark(c)
        assert (await central.ask(c, "Reset", {"type": "OnIdle"}))["status"] == "Scheduled"
        await asyncio.sleep(0.3)
        assert not central.since(c, mark, "BootNotification")
        await central.ask(c, "RequestStopTransaction", {"transactionId": tx_id})
        boot = await central.expect(c, mark, "BootNotification")
        assert (boot.payload["reason"], boot.connection) == ("RemoteReset", 2)
        await started(central, c, 8)
        mark = central.mark(c)
        assert (await central.ask(c, "Reset", {"type": "Immediate"}))["status"] == "Accepted"
        ended = await central.expect(c, mark, "TransactionEvent",
                                     lambda p: p["eventType"] == "Ended")
        assert ended.payload["transactionInfo"]["stoppedReason"] == "ImmediateReset"
        assert (await central.expect(c, mark, "BootNotification")).connection == 3

    run(tmp_path, scenario)


def test_trigger_message_v201(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        for message in ("StatusNotification", "Heartbeat", "BootNotification",
                        "FirmwareStatusNotification", "LogStatusNotification", "MeterValues"):
            mark = central.mark(c)
            answer = await central.ask(c, "TriggerMessage", {"requestedMessage": message})
            assert answer == {"status": "Accepted"}, message
            await central.expect(c, mark, message)
        assert (await central.ask(c, "TriggerMessage", {"requestedMessage": "TransactionEvent"}))[
            "status"] == "Rejected"
        tx_id = await started(central, c)
        mark = central.mark(c)
        await central.ask(c, "TriggerMessage", {"requestedMessage": "TransactionEvent"})
        event = await central.expect(c, mark, "TransactionEvent",
                                     lambda p: p["triggerReason"] == "Trigger")
        assert event.payload["transactionInfo"]["transactionId"] == tx_id
        for payload, status in (({"requestedMessage": "SignV2GCertificate"}, "NotImplemented"),
                                ({"requestedMessage": "Heartbeat", "evse": {"id": 2}},
                                 "Rejected")):
            assert (await central.ask(c, "TriggerMessage", payload))["status"] == status

    run(tmp_path, scenario)


def test_device_model_variables_and_reports(tmp_path: Path) -> None:
    def item(component: str, variable: str, **more: Any) -> dict[str, Any]:
        return {"component": {"name": component}, "variable": {"name": variable}, **more}

    async def scenario(central: Csms, c: SimCharger) -> None:
        got = (await central.ask(c, "GetVariables", {"getVariableData": [
            item("OCPPCommCtrlr", "HeartbeatInterval"), item("Nope", "X"),
            item("OCPPCommCtrlr", "Nope")]}))["getVariableResult"]
        assert [(g["attributeStatus"], g.get("attributeValue")) for g in got] == [
            ("Accepted", "3600"), ("UnknownComponent", None), ("UnknownVariable", None)]
        put = (await central.ask(c, "SetVariables", {"setVariableData": [
            item("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="100"),
            item("SecurityCtrlr", "SecurityProfile", attributeValue="3"),
            item("Nope", "X", attributeValue="1")]}))["setVariableResult"]
        assert [p["attributeStatus"] for p in put] == ["Accepted", "Rejected",
                                                       "UnknownComponent"]
        mark = central.mark(c)
        assert (await central.ask(c, "GetBaseReport", {"requestId": 3,
                                                       "reportBase": "FullInventory"})) == {
            "status": "Accepted"}
        last = await central.expect(c, mark, "NotifyReport", lambda p: not p["tbc"])
        reports = central.since(c, mark, "NotifyReport")
        assert [r.payload["seqNo"] for r in reports] == list(range(len(reports)))
        assert len(reports) > 1 and {r.payload["requestId"] for r in reports} == {3}
        assert last is reports[-1]
        await asyncio.sleep(0.6)
        assert len(central.since(c, mark, "Heartbeat")) >= 3  # every 0.1 s now

    run(tmp_path, scenario)


def test_log_upload_and_firmware_update_v201(tmp_path: Path) -> None:
    uploads = Uploads()

    async def scenario(central: Csms, c: SimCharger) -> None:
        mark = central.mark(c)
        answer = await central.ask(c, "GetLog", {"logType": "DiagnosticsLog", "requestId": 4,
                                                 "log": {"remoteLocation": f"{uploads.url}/l/"}})
        done = await central.expect(c, mark, "LogStatusNotification",
                                    lambda p: p["status"] != "Uploading")
        assert done.payload == {"status": "Uploaded", "requestId": 4}
        assert uploads.files[f"/l/{answer['filename']}"].startswith(b"charge point CMD-B")
        mark = central.mark(c)
        assert (await central.ask(c, "UpdateFirmware", {"requestId": 5, "firmware": {
            "location": f"{uploads.url}/sim-201/2.0.0.bin",
            "retrieveDateTime": "2024-01-01T00:00:00Z"}}))["status"] == "Accepted"
        boot = await central.expect(c, mark, "BootNotification")
        assert [(s.payload["status"], s.payload["requestId"]) for s in
                central.since(c, mark, "FirmwareStatusNotification")] == [
            ("Downloading", 5), ("Downloaded", 5), ("Installing", 5), ("Installed", 5)]
        assert boot.payload["reason"] == "FirmwareUpdate"
        assert boot.payload["chargingStation"]["firmwareVersion"] == "2.0.0"

    try:
        run(tmp_path, scenario)
    finally:
        uploads.close()


#: Every other 2.0.1 CSMS-initiated action, minimal requests: a schema-valid answer each.
OTHERS_201: dict[str, dict[str, Any]] = {
    "CancelReservation": {"reservationId": 1}, "CertificateSigned": {"certificateChain": "x"},
    "ChangeAvailability": {"operationalStatus": "Operative"}, "ClearCache": {},
    "ClearChargingProfile": {}, "ClearDisplayMessage": {"id": 1},
    "ClearVariableMonitoring": {"id": [1, 2]}, "CostUpdated": {"totalCost": 1.5,
                                                               "transactionId": "t"},
    "CustomerInformation": {"requestId": 1, "report": True, "clear": False},
    "DataTransfer": {"vendorId": "acme"},
    "DeleteCertificate": {"certificateHashData": {"hashAlgorithm": "SHA256",
                                                  "issuerNameHash": "a", "issuerKeyHash": "b",
                                                  "serialNumber": "c"}},
    "GetChargingProfiles": {"requestId": 1, "chargingProfile": {}},
    "GetCompositeSchedule": {"duration": 60, "evseId": 1},
    "GetDisplayMessages": {"requestId": 1}, "GetInstalledCertificateIds": {},
    "GetLocalListVersion": {}, "GetMonitoringReport": {"requestId": 1},
    "GetReport": {"requestId": 1}, "GetTransactionStatus": {},
    "InstallCertificate": {"certificateType": "V2GRootCertificate", "certificate": "x"},
    "PublishFirmware": {"location": "http://x", "checksum": "c", "requestId": 1},
    "ReserveNow": {"id": 1, "expiryDateTime": "2030-01-01T00:00:00Z", "idToken": TOKEN},
    "SendLocalList": {"versionNumber": 1, "updateType": "Full"},
    "SetChargingProfile": {"evseId": 0, "chargingProfile": {
        "id": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": [{
            "id": 1, "chargingRateUnit": "W",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7000.0}]}]}},
    "SetDisplayMessage": {"message": {"id": 1, "priority": "NormalCycle", "message": {
        "format": "UTF8", "content": "hi"}}},
    "SetMonitoringBase": {"monitoringBase": "All"},
    "SetMonitoringLevel": {"severity": 5},
    "SetNetworkProfile": {"configurationSlot": 1, "connectionData": {
        "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "ws://x",
        "messageTimeout": 30, "securityProfile": 1, "ocppInterface": "Wired0"}},
    "SetVariableMonitoring": {"setMonitoringData": [{
        "value": 1.0, "type": "Delta", "severity": 5, "component": {"name": "C"},
        "variable": {"name": "V"}}]},
    "UnpublishFirmware": {"checksum": "c"},
}


def test_every_other_action_has_a_schema_valid_answer(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        for action, payload in OTHERS_201.items():
            answer = await central.send(c.plan.charge_point_id, action, payload)
            assert answer[0] == 3, (action, answer)
            check_schema(V201, action, answer[2])
        composite = await central.ask(c, "GetCompositeSchedule", {"duration": 60, "evseId": 1})
        assert composite["schedule"]["chargingSchedulePeriod"][0]["limit"] == 7000.0
        cp = c.plan.charge_point_id
        assert (await central.send(cp, "RequestStopTransaction", {}))[2] == "FormatViolation"

    run(tmp_path, scenario)


def test_vendor_traits_refuse_as_their_sources_show(tmp_path: Path) -> None:
    async def no_list(central: Csms, c: SimCharger) -> None:
        assert (await central.ask(c, "SendLocalList", {"listVersion": 1,
                                                       "updateType": "Full"}))["status"] == (
            "NotSupported")
        assert await central.ask(c, "GetLocalListVersion", {}) == {"listVersion": -1}
        keys = await central.ask(c, "GetConfiguration", {"key": ["SupportedFeatureProfiles",
                                                                 "LocalAuthListEnabled"]})
        assert "LocalAuth" not in keys["configurationKey"][0]["value"]
        assert keys["unknownKey"] == ["LocalAuthListEnabled"]

    async def no_trigger(central: Csms, c: SimCharger) -> None:
        assert (await central.ask(c, "TriggerMessage", {"requestedMessage": "MeterValues"}))[
            "status"] == "NotImplemented"

    async def needs_plug(central: Csms, c: SimCharger) -> None:
        start = {"idTag": "T1"}
        assert (await central.ask(c, "RemoteStartTransaction", start))["status"] == "Rejected"
        await c.status(1, "Preparing")  # a car plugged in
        assert (await central.ask(c, "RemoteStartTransaction", start))["status"] == "Accepted"

    async def authorize(central: Csms, c: SimCharger) -> None:
        start = {"idTag": "T1"}
        assert (await central.ask(c, "RemoteStartTransaction", start))["status"] == "Rejected"
        assert (await central.ask(c, "ChangeConfiguration", {
            "key": "AuthorizeRemoteTxRequests", "value": "false"}))["status"] == "Accepted"
        assert (await central.ask(c, "RemoteStartTransaction", start))["status"] == "Accepted"

    for trait, scenario in (("no_local_auth_list", no_list), ("remote_start_needs_plug",
                                                              needs_plug),
                            ("trigger_meter_values_not_implemented", no_trigger),
                            ("remote_authorize_local_list", authorize)):
        run(tmp_path, scenario, V16, traits=(trait,))
    run(tmp_path, no_trigger, V201, traits=("trigger_meter_values_not_implemented",))


SESSION = [SessionPlan(0.0, 3600.0, 8_000.0, 11_000.0, "TAG000042")]


def test_lost_transaction_reboots_forgets_and_stays_online(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        assert await run_session(c, c.plan.sessions[0], "lost_transaction") == "lost"
        c.set_heartbeat(200.0)  # every 0.2 s (its boot took the server's 3600 s again)
        boot = await central.expect(c, 0, "BootNotification", lambda p: p["reason"] == "Watchdog")
        started = await central.expect(c, 0, "TransactionEvent",
                                       lambda p: p["eventType"] == "Started")
        tx_id = started.payload["transactionInfo"]["transactionId"]
        mark = central.mark(c)
        await central.ask(c, "TriggerMessage", {"requestedMessage": "StatusNotification"})
        status = await central.expect(c, mark, "StatusNotification")
        assert status.payload["connectorStatus"] == "Available" and status.connection == 2
        assert (await central.ask(c, "GetTransactionStatus", {"transactionId": tx_id}))[
            "ongoingIndicator"] is False
        await asyncio.sleep(0.6)
        assert len(central.since(c, mark, "Heartbeat")) >= 2
        assert not [s for s in central.since(c, 0, "TransactionEvent")
                    if s.payload["eventType"] == "Ended"]
        assert boot.connection == 2

    rows = run(tmp_path, scenario, sessions=SESSION, fault="lost_transaction")
    session = next(r for r in rows if r["type"] == "session")
    fault = next(r for r in rows if r["type"] == "fault")
    assert session["fault"] == "lost_transaction" and session["energy_wh"] > 0
    assert (fault["kind"], fault["fault"]) == ("stuck_session", "lost_transaction")


def test_silent_session_answers_triggers_then_stops_normally(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        c.silence_s = 1.5
        session = asyncio.create_task(run_session(c, c.plan.sessions[0], "silent_session"))
        start = await central.expect(c, 0, "StartTransaction")
        await asyncio.sleep(0.8)  # one sample interval (0.6 s), then silent
        mark = central.mark(c)
        assert not central.since(c, 0, "MeterValues")
        await central.ask(c, "TriggerMessage", {"requestedMessage": "StatusNotification",
                                                "connectorId": 1})
        status = await central.expect(c, mark, "StatusNotification")
        assert status.payload["status"] == "Charging"
        await central.ask(c, "TriggerMessage", {"requestedMessage": "MeterValues"})
        meter = await central.expect(c, mark, "MeterValues")
        value = meter.payload["meterValue"][0]["sampledValue"][0]
        assert value["context"] == "Trigger" and int(value["value"]) > start.payload["meterStart"]
        assert await session == "ok"
        stop = central.since(c, 0, "StopTransaction")[-1]
        assert stop.payload["reason"] == "EVDisconnected"
        assert len(central.since(c, 0, "MeterValues")) == 7  # the trigger's and all 6 samples

    rows = run(tmp_path, scenario, V16, sessions=SESSION, fault="silent_session")
    session = next(r for r in rows if r["type"] == "session")
    fault = next(r for r in rows if r["type"] == "fault")
    assert session["fault"] == "silent_session" and session["energy_wh"] > 0
    assert fault["kind"] == "silent_session"
