"""Simulated chargers answer CSMS-initiated calls as real ones do: over real WebSockets to a
tiny central system (``tiny_csms``), every answer schema-valid (the ``ocpp`` library's
schemas), and the messages each action causes really arrive. 2.0.1 and the recovery faults:
``test_commands_v201.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from sim.charger import SimCharger
from sim.firmware import firmware_version
from sim.truth import Truth
from tests.sim.tiny_csms import V16, Csms, Uploads, charger, csms

Scenario = Callable[[Csms, SimCharger], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario, traits: tuple[str, ...] = ()) -> list[Any]:
    """``scenario`` against one connected 1.6 charger; the truth rows it wrote."""
    truth_path = tmp_path / "truth.jsonl"

    async def main() -> None:
        async with csms() as central:
            c = charger(central, V16, "A", Truth(truth_path), traits=traits)
            await c.connect()
            try:
                await scenario(central, c)
            finally:
                for task in list(c.tasks):
                    task.cancel()
                await c.disconnect()

    asyncio.run(main())
    return [orjson.loads(line) for line in truth_path.read_bytes().splitlines()]


async def remote_started(central: Csms, c: SimCharger, id_tag: str = "REMOTE1") -> int:
    """RemoteStartTransaction accepted, its StartTransaction seen: the transactionId."""
    mark = central.mark(c)
    assert await central.ask(c, "RemoteStartTransaction", {"idTag": id_tag}) == {
        "status": "Accepted"}
    start = await central.expect(c, mark, "StartTransaction")
    assert (start.payload["idTag"], start.payload["connectorId"]) == (id_tag, 1)
    await central.expect(c, mark, "StatusNotification", lambda p: p["status"] == "Charging")
    return central.given[-1]


def test_remote_start_runs_a_session_until_remote_stop(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        mark = central.mark(c)
        tx_id = await remote_started(central, c)
        assert not central.since(c, mark, "Authorize")  # AuthorizeRemoteTxRequests false
        for _ in range(2):  # two samples: 50 kW for 0.6 s, 8 Wh
            seen = await central.expect(c, mark, "MeterValues",
                                        lambda p: p.get("transactionId") == tx_id)
            mark = central.since(c, 0).index(seen) + 1
        busy = await central.ask(c, "RemoteStartTransaction", {"idTag": "OTHER"})
        assert busy == {"status": "Rejected"}
        wrong = await central.ask(c, "RemoteStopTransaction", {"transactionId": tx_id + 7})
        assert wrong == {"status": "Rejected"}
        assert await central.ask(c, "RemoteStopTransaction", {"transactionId": tx_id}) == {
            "status": "Accepted"}
        stop = await central.expect(c, mark, "StopTransaction")
        assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx_id, "Remote")
        await central.expect(c, mark, "StatusNotification", lambda p: p["status"] == "Available")

    rows = run(tmp_path, scenario)
    session = next(r for r in rows if r["type"] == "session")
    assert session["transaction_id"] == "101" and session["energy_wh"] > 0
    assert session["fault"] is None


def test_reset_ends_the_session_and_boots_on_a_new_connection(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        tx_id = await remote_started(central, c)
        mark = central.mark(c)
        assert await central.ask(c, "Reset", {"type": "Hard"}) == {"status": "Accepted"}
        stop = await central.expect(c, mark, "StopTransaction")
        assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx_id, "HardReset")
        boot = await central.expect(c, mark, "BootNotification")
        assert boot.connection == 2 > stop.connection
        await central.expect(c, mark, "StatusNotification",
                             lambda p: p["status"] == "Available")

    rows = run(tmp_path, scenario)
    assert [r["type"] for r in rows] == ["session", "downtime"]  # away while it reboots
    assert (rows[1]["cause"], rows[1]["connector_id"]) == ("offline", None)


def test_trigger_message_sends_what_was_asked(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        for message in ("StatusNotification", "Heartbeat", "BootNotification",
                        "FirmwareStatusNotification", "DiagnosticsStatusNotification"):
            mark = central.mark(c)
            answer = await central.ask(c, "TriggerMessage", {"requestedMessage": message,
                                                             "connectorId": 1})
            assert answer == {"status": "Accepted"}
            await central.expect(c, mark, message)
        assert central.since(c, 0, "BootNotification")[-1].connection == 1  # no reboot
        tx_id = await remote_started(central, c)
        mark = central.mark(c)
        await central.ask(c, "TriggerMessage", {"requestedMessage": "StatusNotification"})
        status = await central.expect(c, mark, "StatusNotification",
                                      lambda p: p["connectorId"] == 1)
        assert status.payload["status"] == "Charging"
        await central.ask(c, "TriggerMessage", {"requestedMessage": "MeterValues"})
        meter = await central.expect(c, mark, "MeterValues", lambda p: (
            p["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"))
        assert meter.payload["transactionId"] == tx_id
        assert await central.ask(c, "TriggerMessage", {
            "requestedMessage": "MeterValues", "connectorId": 2}) == {"status": "Rejected"}
        other = await central.send(c.plan.charge_point_id, "TriggerMessage",
                                   {"requestedMessage": "SignChargePointCertificate"})
        assert other[2] == {"status": "NotImplemented"}

    run(tmp_path, scenario)


def test_configuration_keys_and_heartbeat_pace(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        keys = (await central.ask(c, "GetConfiguration", {}))["configurationKey"]
        readonly = {k["key"]: k["readonly"] for k in keys}
        assert readonly["NumberOfConnectors"] and not readonly["HeartbeatInterval"]
        assert {"MeterValueSampleInterval", "AuthorizeRemoteTxRequests", "LocalAuthListEnabled",
                "LocalAuthListMaxLength", "SendLocalListMaxLength",
                "SupportedFeatureProfiles"} <= set(readonly)
        some = await central.ask(c, "GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
        assert some == {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False,
                                              "value": "3600"}], "unknownKey": ["Nope"]}
        for key, value, status in (("NumberOfConnectors", "2", "Rejected"),
                                   ("Nope", "1", "NotSupported"),
                                   ("HeartbeatInterval", "soon", "Rejected")):
            answer = await central.ask(c, "ChangeConfiguration", {"key": key, "value": value})
            assert answer == {"status": status}, key
        beat = asyncio.create_task(c.heartbeats())
        mark = central.mark(c)
        await asyncio.sleep(0.5)
        assert not central.since(c, mark, "Heartbeat")  # 3600 s: 3.6 s at speed 1000
        assert await central.ask(c, "ChangeConfiguration", {
            "key": "HeartbeatInterval", "value": "100"}) == {"status": "Accepted"}
        await asyncio.sleep(1.0)
        beat.cancel()
        assert len(central.since(c, mark, "Heartbeat")) >= 5  # every 0.1 s now

    run(tmp_path, scenario)


def test_availability_reservation_and_unlock(tmp_path: Path) -> None:
    async def scenario(central: Csms, c: SimCharger) -> None:
        mark = central.mark(c)
        off = {"connectorId": 1, "type": "Inoperative"}
        assert await central.ask(c, "ChangeAvailability", off) == {"status": "Accepted"}
        await central.expect(c, mark, "StatusNotification", lambda p: p["status"] == "Unavailable")
        assert (await central.ask(c, "RemoteStartTransaction", {"idTag": "X"}))["status"] == (
            "Rejected")
        assert (await central.ask(c, "ReserveNow", {
            "connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "R",
            "reservationId": 5}))["status"] == "Unavailable"
        await central.ask(c, "ChangeAvailability", {"connectorId": 0, "type": "Operative"})
        reserve = {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "R",
                   "reservationId": 7}
        assert (await central.ask(c, "ReserveNow", reserve))["status"] == "Accepted"
        await central.expect(c, mark, "StatusNotification", lambda p: p["status"] == "Reserved")
        assert (await central.ask(c, "ReserveNow", reserve | {"reservationId": 8}))[
            "status"] == "Occupied"
        assert (await central.ask(c, "RemoteStartTransaction", {"idTag": "X"}))["status"] == (
            "Rejected")
        assert (await central.ask(c, "CancelReservation", {"reservationId": 8}))["status"] == (
            "Rejected")
        assert (await central.ask(c, "CancelReservation", {"reservationId": 7}))["status"] == (
            "Accepted")
        tx_id = await remote_started(central, c, "R")
        assert (await central.ask(c, "ChangeAvailability", off))["status"] == "Scheduled"
        mark = central.mark(c)
        assert await central.ask(c, "UnlockConnector", {"connectorId": 1}) == {
            "status": "Unlocked"}
        stop = await central.expect(c, mark, "StopTransaction")
        assert (stop.payload["transactionId"], stop.payload["reason"]) == (tx_id,
                                                                           "UnlockCommand")
        await central.expect(c, mark, "StatusNotification", lambda p: p["status"] == "Unavailable")
        assert await central.ask(c, "UnlockConnector", {"connectorId": 3}) == {
            "status": "NotSupported"}

    rows = run(tmp_path, scenario)
    assert [r["type"] for r in rows] == ["session"]


def test_local_list_profiles_and_refusals(tmp_path: Path) -> None:
    entry = {"idTag": "A1", "idTagInfo": {"status": "Accepted"}}

    async def scenario(central: Csms, c: SimCharger) -> None:
        async def ask(action: str, payload: dict[str, Any]) -> Any:
            return (await central.ask(c, action, payload)).get("status")

        assert (await central.ask(c, "GetLocalListVersion", {})) == {"listVersion": 0}
        diff = {"listVersion": 2, "updateType": "Differential", "localAuthorizationList": [entry]}
        assert await ask("SendLocalList", diff) == "Failed"  # no list to differ from
        assert await ask("SendLocalList", diff | {"updateType": "Full"}) == "Accepted"
        assert await ask("SendLocalList", diff) == "VersionMismatch"
        assert await ask("SendLocalList", diff | {"listVersion": 3}) == "Accepted"
        assert (await central.ask(c, "GetLocalListVersion", {})) == {"listVersion": 3}
        assert await ask("ClearCache", {}) == "Accepted"
        assert await ask("GetCompositeSchedule", {"connectorId": 1, "duration": 600}) == (
            "Rejected")
        profile = {"chargingProfileId": 9, "stackLevel": 1,
                   "chargingProfilePurpose": "TxDefaultProfile",
                   "chargingProfileKind": "Absolute", "chargingSchedule": {
                       "chargingRateUnit": "W",
                       "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]}}
        assert await ask("SetChargingProfile", {"connectorId": 1,
                                                "csChargingProfiles": profile}) == "Accepted"
        tx_profile = profile | {"chargingProfilePurpose": "TxProfile"}
        assert await ask("SetChargingProfile", {"connectorId": 1,
                                                "csChargingProfiles": tx_profile}) == "Rejected"
        composite = await central.ask(c, "GetCompositeSchedule", {"connectorId": 1,
                                                                  "duration": 600})
        assert composite["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 7400.0
        assert await ask("ClearChargingProfile", {"id": 9}) == "Accepted"
        assert await ask("ClearChargingProfile", {"id": 9}) == "Unknown"
        assert await ask("DataTransfer", {"vendorId": "acme"}) == "UnknownVendorId"
        cp = c.plan.charge_point_id
        assert (await central.send(cp, "Teleport", {}))[2] == "NotImplemented"
        assert (await central.send(cp, "RemoteStopTransaction", {}))[2] == "FormationViolation"
        assert (await central.send(cp, "InstallCertificate", {}))[2] == "NotSupported"

    run(tmp_path, scenario)


def test_diagnostics_uploaded_and_firmware_installed(tmp_path: Path) -> None:
    uploads = Uploads()

    async def scenario(central: Csms, c: SimCharger) -> None:
        mark = central.mark(c)
        answer = await central.ask(c, "GetDiagnostics", {"location": f"{uploads.url}/diag/"})
        name = answer["fileName"]
        done = await central.expect(c, mark, "DiagnosticsStatusNotification",
                                    lambda p: p["status"] != "Uploading")
        assert done.payload == {"status": "Uploaded"}
        assert b"CMD-A" in uploads.files[f"/diag/{name}"]
        mark = central.mark(c)
        await central.ask(c, "GetDiagnostics", {"location": "ftp://127.0.0.1/diag/"})
        failed = await central.expect(c, mark, "DiagnosticsStatusNotification",
                                      lambda p: p["status"] != "Uploading")
        assert failed.payload == {"status": "UploadFailed"}
        mark = central.mark(c)
        assert await central.ask(c, "UpdateFirmware", {
            "location": f"{uploads.url}/alfen/5.9.0.bin",
            "retrieveDate": "2024-01-01T00:00:00Z"}) == {}
        boot = await central.expect(c, mark, "BootNotification")
        statuses = [s.payload["status"]
                    for s in central.since(c, mark, "FirmwareStatusNotification")]
        assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]
        assert boot.payload["firmwareVersion"] == "5.9.0" and boot.connection == 2

    try:
        run(tmp_path, scenario)
    finally:
        uploads.close()
    assert firmware_version("http://x/fw/", "1.0") == "1.0.1"
    assert firmware_version("http://x/fw/v2.1", "1.0") == "v2.1"
    assert firmware_version("http://x/fw/image.tar.gz", "1.0") == "image"
