"""OCPP 2.1 CSMS answers to every action a charging station may send.

2.1 keeps every charger-initiated action of 2.0.1 (answered by ``csms_v201``'s handlers: their
answers are valid 2.1 responses, the new response fields all optional) and adds eleven CALLs
and one SEND. The 2.1 table is 2.0.1's plus those:

==========================  ===================================================================
action                      answer
==========================  ===================================================================
BatterySwap                 ``{}`` (journaled; the adapters make a ``battery_swap`` event)
ClosePeriodicEventStream    ``{}``
GetCertificateChainStatus   ``Failed`` per certificate asked about (no OCSP/CRL here, as 2.0.1
                            GetCertificateStatus answers Failed)
NotifyDERAlarm              ``{}``
NotifyDERStartStop          ``{}``
NotifyPriorityCharging      ``{}``
NotifySettlement            ``{}`` (no receipt of ours; the adapters make a ``settlement`` event)
OpenPeriodicEventStream     ``Accepted``: the station streams, every frame is journaled
PullDynamicScheduleUpdate   ``Rejected`` (chargeline keeps no dynamic schedule)
ReportDERControl            ``{}``
VatNumberValidation         ``Rejected``, its vatNumber echoed (chargeline cannot validate VAT)
==========================  ===================================================================

``NotifyPeriodicEventStream`` is a SEND (message type 6): never answered, journaled like a CALL
(``SEND_ACTIONS``). Answers are schema-valid whatever the request held
(``tests/ocpp21/test_answers.py`` tries every action with generated requests).
"""

from __future__ import annotations

from typing import Any

from ocpp.v21.enums import (
    CertificateStatusEnumType,
    ChargingProfileStatusEnumType,
    GenericStatusEnumType,
)

from ingest import csms_v201
from ingest.csms_common import CallContext, Handler, constant, empty, server_time

_NO_HASH = {"hashAlgorithm": "SHA256", "issuerNameHash": "", "issuerKeyHash": "",
            "serialNumber": ""}
_MAX_CERTIFICATES = 4  # the response's maxItems, as the request's
_MAX_VAT = 20


def _certificate_status(ctx: CallContext, asked: Any) -> dict[str, Any]:
    info = asked if isinstance(asked, dict) else {}
    hash_data = info.get("certificateHashData")
    source = info.get("source")
    return {"certificateHashData": hash_data if isinstance(hash_data, dict) else _NO_HASH,
            "source": source if source in ("CRL", "OCSP") else "OCSP",
            "status": CertificateStatusEnumType.failed.value, "nextUpdate": server_time(ctx)}


def certificate_chain_status(ctx: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    """``Failed`` for each certificate asked about (at least one entry: the schema's minimum)."""
    asked = payload.get("certificateStatusRequests")
    requests = asked[:_MAX_CERTIFICATES] if isinstance(asked, list) and asked else [None]
    return {"certificateStatus": [_certificate_status(ctx, r) for r in requests]}


def vat_number_validation(_: CallContext, payload: dict[str, Any]) -> dict[str, Any]:
    vat = payload.get("vatNumber")
    answer: dict[str, Any] = {"vatNumber": vat[:_MAX_VAT] if isinstance(vat, str) else "",
                              "status": GenericStatusEnumType.rejected.value}
    evse = payload.get("evseId")
    if isinstance(evse, int) and not isinstance(evse, bool) and evse >= 0:
        answer["evseId"] = evse
    return answer


HANDLERS: dict[str, Handler] = {
    **csms_v201.HANDLERS,
    "BatterySwap": empty,
    "ClosePeriodicEventStream": empty,
    "GetCertificateChainStatus": certificate_chain_status,
    "NotifyDERAlarm": empty,
    "NotifyDERStartStop": empty,
    "NotifyPriorityCharging": empty,
    "NotifySettlement": empty,
    "OpenPeriodicEventStream": constant({"status": GenericStatusEnumType.accepted.value}),
    "PullDynamicScheduleUpdate": constant({
        "status": ChargingProfileStatusEnumType.rejected.value}),
    "ReportDERControl": empty,
    "VatNumberValidation": vat_number_validation,
}

SEND_ACTIONS = frozenset({"NotifyPeriodicEventStream"})
"""Charger-initiated messages of type SEND: journaled, never answered."""

TRANSACTION_ACTIONS = csms_v201.TRANSACTION_ACTIONS
