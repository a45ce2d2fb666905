"""Both OCPP versions end to end, with the ``ocpp`` library's charge point classes as clients
(they validate our answers against the official JSON schemas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201

from tests.ingest.conftest import journal_frames, ocpp_client, running_server

T0 = "2026-01-05T10:00:00Z"


def test_v16_session_is_answered_and_journaled_byte_exact(tmp_path: Path, run: Any) -> None:
    async def scenario() -> tuple[list[Any], list[tuple[str, str]]]:
        async with running_server(tmp_path) as cs, ocpp_client(
                ChargePoint16, cs, "CP-16", "ocpp1.6") as (cp, rec):
            answers = [
                await cp.call(call16.BootNotification(charge_point_model="M", charge_point_vendor="V")),
                await cp.call(call16.StatusNotification(connector_id=1, error_code="NoError", status="Preparing")),
                await cp.call(call16.Authorize(id_tag="TAG1")),
                await cp.call(call16.StartTransaction(connector_id=1, id_tag="TAG1", meter_start=1000, timestamp=T0)),
                await cp.call(call16.MeterValues(connector_id=1, transaction_id=1, meter_value=[
                    {"timestamp": T0, "sampledValue": [{"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}])),
                await cp.call(call16.StopTransaction(meter_stop=8000, timestamp=T0, transaction_id=1, reason="Local")),
                await cp.call(call16.Heartbeat()),
            ]
            return answers, list(rec.log)

    answers, log = run(scenario())
    boot, _, auth, start, _, stop, beat = answers
    assert boot.status == "Accepted" and boot.current_time.endswith("Z") and boot.interval == 300
    assert auth.id_tag_info["status"] == "Accepted"
    assert start.transaction_id == 1
    assert stop.id_tag_info is None
    assert beat.current_time.endswith("Z")
    frames = journal_frames(tmp_path, "CP-16")
    assert [(f.direction, f.raw) for f in frames] == log
    assert [f.frame_id for f in frames] == sorted(f.frame_id for f in frames)
    assert frames[7].action == "StartTransaction" and frames[7].direction == "out"


def test_v201_transaction_events_are_answered_and_journaled(tmp_path: Path, run: Any) -> None:
    tx = {"transactionId": "TX-9"}
    token = {"idToken": "TAG2", "type": "ISO14443"}
    sample = [{"timestamp": T0, "sampledValue": [{"value": 1234.5}]}]

    async def scenario() -> tuple[list[Any], list[tuple[str, str]]]:
        async with running_server(tmp_path) as cs, ocpp_client(
                ChargePoint201, cs, "CP-201", "ocpp2.0.1") as (cp, rec):
            answers = [
                await cp.call(call201.BootNotification(charging_station={"model": "M", "vendorName": "V"}, reason="PowerUp")),
                await cp.call(call201.StatusNotification(timestamp=T0, connector_status="Occupied", evse_id=1, connector_id=1)),
                await cp.call(call201.Authorize(id_token=token)),
                await cp.call(call201.TransactionEvent(event_type="Started", timestamp=T0, trigger_reason="Authorized", seq_no=0, transaction_info=tx, id_token=token, evse={"id": 1, "connectorId": 1})),
                await cp.call(call201.TransactionEvent(event_type="Updated", timestamp=T0, trigger_reason="MeterValuePeriodic", seq_no=1, transaction_info=tx, meter_value=sample)),
                await cp.call(call201.MeterValues(evse_id=1, meter_value=sample)),
                await cp.call(call201.TransactionEvent(event_type="Ended", timestamp=T0, trigger_reason="StopAuthorized", seq_no=2, transaction_info={**tx, "stoppedReason": "Local"})),
                await cp.call(call201.Heartbeat()),
            ]
            return answers, list(rec.log)

    answers, log = run(scenario())
    assert answers[0].status == "Accepted"
    assert answers[2].id_token_info["status"] == "Accepted"
    assert answers[3].id_token_info["status"] == "Accepted"
    frames = journal_frames(tmp_path, "CP-201")
    assert [(f.direction, f.raw) for f in frames] == log
    assert {f.protocol for f in frames} == {"ocpp2.0.1"}
    assert [f.action for f in frames if f.direction == "in"].count("TransactionEvent") == 3
