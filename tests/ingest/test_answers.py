"""Every charger-initiated action of both versions gets a schema-valid answer."""

from __future__ import annotations

import json
from pathlib import Path

import ocpp
import pytest
from jsonschema import Draft7Validator

from ingest import csms_v16, csms_v201
from ingest.csms_common import CallContext
from ingest.transactions import TransactionRegistry

SCHEMAS = Path(ocpp.__file__).parent

CHARGER_INITIATED_16 = {
    "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
    "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
    "StatusNotification", "StopTransaction", "LogStatusNotification",
    "SecurityEventNotification", "SignCertificate", "SignedFirmwareStatusNotification",
}
CHARGER_INITIATED_201 = {
    "Authorize", "BootNotification", "ClearedChargingLimit", "DataTransfer",
    "FirmwareStatusNotification", "Get15118EVCertificate", "GetCertificateStatus", "Heartbeat",
    "LogStatusNotification", "MeterValues", "NotifyChargingLimit", "NotifyCustomerInformation",
    "NotifyDisplayMessages", "NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent",
    "NotifyMonitoringReport", "NotifyReport", "PublishFirmwareStatusNotification",
    "ReportChargingProfiles", "ReservationStatusUpdate", "SecurityEventNotification",
    "SignCertificate", "StatusNotification", "TransactionEvent",
}
PAYLOADS = {
    "StartTransaction": {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "x"},
    "StopTransaction": {"idTag": "T", "transactionId": 1, "meterStop": 5, "timestamp": "x"},
    "TransactionEvent": {"idToken": {"idToken": "T", "type": "ISO14443"}},
}
CTX = CallContext("CP", 1_767_225_600_000_000_000, TransactionRegistry(), 300)


def test_every_charger_initiated_action_has_a_handler() -> None:
    assert set(csms_v16.HANDLERS) == CHARGER_INITIATED_16
    assert set(csms_v201.HANDLERS) == CHARGER_INITIATED_201


@pytest.mark.parametrize("folder, handlers", [("v16", csms_v16.HANDLERS),
                                              ("v201", csms_v201.HANDLERS)])
def test_answers_validate_against_the_official_schemas(folder: str, handlers: dict) -> None:
    for action, handler in handlers.items():
        schema = json.loads((SCHEMAS / folder / "schemas" / f"{action}Response.json").read_text())
        for payload in ({}, PAYLOADS.get(action, {})):
            answer = handler(CTX, payload)
            errors = [e.message for e in Draft7Validator(schema).iter_errors(answer)]
            assert not errors, (action, answer, errors)


def test_server_time_is_utc_with_milliseconds() -> None:
    answer = csms_v16.HANDLERS["Heartbeat"](CTX, {})
    assert answer == {"currentTime": "2026-01-01T00:00:00.000Z"}
