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
from ingest.tokens import MAX_ID_16, wire_time


def id_tag_info(ctx: CallContext, id_tag: object) -> dict[str, Any]:
    """``IdTagInfo`` for ``id_tag`` from the authorization list; a token not on it that the
    policy refuses is ``Invalid`` (1.6 has no ``Unknown``). An idTag that is no string (the
    adapters judge the payload) is on no list. A parent id longer than a 1.6 idTag is left
    out: the charger could not hold it."""
    answer = ctx.tokens.judge(id_tag if isinstance(id_tag, str) else "", None, ctx.now_ns)
    status = AuthorizationStatus.invalid if answer.status is None else \
        AuthorizationStatus(answer.status.value)
    info: dict[str, Any] = {"status": status.value}
    if answer.expiry is not None:
        info["expiryDate"] = wire_time(answer.expiry)
    if answer.parent is not None and len(answer.parent.id_token) <= MAX_ID_16:
        info["parentIdTag"] = answer.parent.id_token
    return info


def authorize(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    return {"idTagInfo": id_tag_info(ctx, payload.get("idTag"))}


def boot_notification(ctx: CallContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"status": RegistrationStatus.accepted.value, "currentTime": server_time(ctx),
            "interval": ctx.heartbeat_interval_s}


def heartbeat(ctx: CallContext, _: dict[str, Any]) -> dict[str, Any]:
    return {"currentTime": server_time(ctx)}


def start_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """Always a transactionId, whatever the idTag's status: a charger told Blocked must not
    charge, and ends the transaction it holds with a StopTransaction (reason DeAuthorized)."""
    tx_id, _ = ctx.transactions.assign(ctx.charge_point_id, payload, ctx.now_ns)
    return {"transactionId": tx_id, "idTagInfo": id_tag_info(ctx, payload.get("idTag"))}


def stop_transaction(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    id_tag = payload.get("idTag")
    return {"idTagInfo": id_tag_info(ctx, id_tag)} if id_tag else {}


HANDLERS: dict[str, Handler] = {
    "Authorize": authorize,
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
