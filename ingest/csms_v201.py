"""OCPP 2.0.1 CSMS answers to every action a charging station may send.

Answers are schema-valid; TransactionEvent and MeterValues are answered even when their content
is wrong. Certificate services are not offered here, so they answer Rejected/Failed.
"""

from __future__ import annotations

from typing import Any

from ocpp.v201.enums import (
    AuthorizationStatusEnumType,
    DataTransferStatusEnumType,
    GenericStatusEnumType,
    GetCertificateStatusEnumType,
    Iso15118EVCertificateStatusEnumType,
    NotifyEVChargingNeedsStatusEnumType,
    RegistrationStatusEnumType,
)

from ingest.csms_common import CallContext, Handler, constant, empty, server_time

_ACCEPTED = {"status": AuthorizationStatusEnumType.accepted.value}


def boot_notification(ctx: CallContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"currentTime": server_time(ctx), "interval": ctx.heartbeat_interval_s,
            "status": RegistrationStatusEnumType.accepted.value}


def heartbeat(ctx: CallContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"currentTime": server_time(ctx)}


def transaction_event(_: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"idTokenInfo": dict(_ACCEPTED)} if isinstance(payload.get("idToken"), dict) else {}


HANDLERS: dict[str, Handler] = {
    "Authorize": constant({"idTokenInfo": _ACCEPTED}),
    "BootNotification": boot_notification,
    "ClearedChargingLimit": empty,
    "DataTransfer": constant({"status": DataTransferStatusEnumType.unknown_vendor_id.value}),
    "FirmwareStatusNotification": empty,
    "Get15118EVCertificate": constant({
        "status": Iso15118EVCertificateStatusEnumType.failed.value, "exiResponse": ""}),
    "GetCertificateStatus": constant({"status": GetCertificateStatusEnumType.failed.value}),
    "Heartbeat": heartbeat,
    "LogStatusNotification": empty,
    "MeterValues": empty,
    "NotifyChargingLimit": empty,
    "NotifyCustomerInformation": empty,
    "NotifyDisplayMessages": empty,
    "NotifyEVChargingNeeds": constant({
        "status": NotifyEVChargingNeedsStatusEnumType.rejected.value}),
    "NotifyEVChargingSchedule": constant({"status": GenericStatusEnumType.accepted.value}),
    "NotifyEvent": empty,
    "NotifyMonitoringReport": empty,
    "NotifyReport": empty,
    "PublishFirmwareStatusNotification": empty,
    "ReportChargingProfiles": empty,
    "ReservationStatusUpdate": empty,
    "SecurityEventNotification": empty,
    "SignCertificate": constant({"status": GenericStatusEnumType.rejected.value}),
    "StatusNotification": empty,
    "TransactionEvent": transaction_event,
}

TRANSACTION_ACTIONS = frozenset({"TransactionEvent", "MeterValues"})
