"""OCPP 1.6J central system answers to every charger-initiated action.

Core, Firmware Management and the Security whitepaper's charger-initiated messages. (Local Auth,
Reservation, Smart Charging and Remote Trigger hold only CSMS-initiated actions.) Answers are
schema-valid; transaction messages are answered even when their content is wrong.
"""

from __future__ import annotations

from typing import Any

from ocpp.v16.enums import (
    AuthorizationStatus,
    DataTransferStatus,
    GenericStatus,
    RegistrationStatus,
)

from ingest.csms_common import CallContext, Handler, constant, empty, server_time

_ACCEPTED = {"status": AuthorizationStatus.accepted.value}


def boot_notification(ctx: CallContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"status": RegistrationStatus.accepted.value, "currentTime": server_time(ctx),
            "interval": ctx.heartbeat_interval_s}


def heartbeat(ctx: CallContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"currentTime": server_time(ctx)}


def start_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    tx_id, _ = ctx.transactions.assign(ctx.charge_point_id, payload, ctx.now_ns)
    return {"transactionId": tx_id, "idTagInfo": dict(_ACCEPTED)}


def stop_transaction(_: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"idTagInfo": dict(_ACCEPTED)} if payload.get("idTag") else {}


HANDLERS: dict[str, Handler] = {
    "Authorize": constant({"idTagInfo": _ACCEPTED}),
    "BootNotification": boot_notification,
    "DataTransfer": constant({"status": DataTransferStatus.unknown_vendor_id.value}),
    "DiagnosticsStatusNotification": empty,
    "FirmwareStatusNotification": empty,
    "Heartbeat": heartbeat,
    "MeterValues": empty,
    "StartTransaction": start_transaction,
    "StatusNotification": empty,
    "StopTransaction": stop_transaction,
    "LogStatusNotification": empty,
    "SecurityEventNotification": empty,
    "SignCertificate": constant({"status": GenericStatus.rejected.value}),
    "SignedFirmwareStatusNotification": empty,
}

TRANSACTION_ACTIONS = frozenset({"StartTransaction", "StopTransaction", "MeterValues"})
