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
from ingest.tokens import wire_time


def id_token_info(ctx: CallContext, id_token: dict[str, Any]) -> dict[str, Any]:
    """``IdTokenInfo`` for ``id_token`` (an ``IdTokenType`` object) from the authorization
    list; a token not on it that the policy refuses is ``Unknown``."""
    text, kind = id_token.get("idToken"), id_token.get("type")
    answer = ctx.tokens.judge(text if isinstance(text, str) else "",
                              kind if isinstance(kind, str) else "", ctx.now_ns)
    status = AuthorizationStatusEnumType.unknown if answer.status is None else \
        AuthorizationStatusEnumType(answer.status.value)
    info: dict[str, Any] = {"status": status.value}
    if answer.expiry is not None:
        info["cacheExpiryDateTime"] = wire_time(answer.expiry)
    if answer.parent is not None:
        info["groupIdToken"] = {"idToken": answer.parent.id_token,
                                "type": answer.parent.type.value}
    return info


def authorize(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    token = payload.get("idToken")
    return {"idTokenInfo": id_token_info(ctx, token if isinstance(token, dict) else {})}


def boot_notification(ctx: CallContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"currentTime": server_time(ctx), "interval": ctx.heartbeat_interval_s,
            "status": RegistrationStatusEnumType.accepted.value}


def heartbeat(ctx: CallContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"currentTime": server_time(ctx)}


def transaction_event(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """``idTokenInfo`` only when the event carries an idToken (the station asks then)."""
    token = payload.get("idToken")
    return {"idTokenInfo": id_token_info(ctx, token)} if isinstance(token, dict) else {}


HANDLERS: dict[str, Handler] = {
    "Authorize": authorize,
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
