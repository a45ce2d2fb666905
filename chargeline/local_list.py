"""``chargeline tokens push``: the authorization list onto chargers' local lists, through the
admin API of the running ``serve`` (``chargeline.admin_client``).

Per charger: ``GetLocalListVersion``; if the charger holds the list's version already, nothing
more. Else the list goes as ``SendLocalList`` with ``updateType`` Full and the list's version,
in chunks of at most the charger's ``SendLocalListMaxLength`` (1.6 configuration key; 2.0.1
``LocalAuthListCtrlr.ItemsPerMessage``) when it tells, else ``DEFAULT_CHUNK``. A list longer
than one chunk goes as a Full first chunk and Differential chunks after it, all of the same
version (a second Full would replace the first). 1.6 chargers get only the tokens a 1.6 idTag
can hold (at most 20 characters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from canonical.commands import CommandOrigin, CommandOutcome
from canonical.enums import Protocol
from ingest.tokens import MAX_ID_16, Token, TokenList, wire_time

DEFAULT_CHUNK = 100
_NOT_SUPPORTED = frozenset({"NotSupported", "NotImplemented"})
_VERSION_FIELD = {Protocol.v16: "listVersion", Protocol.v201: "versionNumber",
                  Protocol.v21: "versionNumber"}

Send = Callable[[str, str, dict[str, Any]], dict[str, Any]]
"""(charge point id, action, payload) → the admin API's command record as JSON."""


class PushOutcome(StrEnum):
    pushed = "pushed"
    current = "already current"
    not_supported = "not supported"
    offline = "offline"
    failed = "failed"


@dataclass(frozen=True, slots=True)
class PushResult:
    charge_point_id: str
    outcome: PushOutcome
    detail: str = ""


def entry(token: Token, parent: Token | None, protocol: Protocol) -> dict[str, Any]:
    """One ``AuthorizationData`` of the list, in ``protocol``'s shape (as the answers give
    it: ``ingest.csms_v16.id_tag_info``, ``ingest.csms_v201.id_token_info``)."""
    if protocol is Protocol.v16:
        info: dict[str, Any] = {"status": token.status.value}
        if token.expiry is not None:
            info["expiryDate"] = wire_time(token.expiry)
        if parent is not None and len(parent.id_token) <= MAX_ID_16:
            info["parentIdTag"] = parent.id_token
        return {"idTag": token.id_token, "idTagInfo": info}
    info = {"status": token.status.value}
    if token.expiry is not None:
        info["cacheExpiryDateTime"] = wire_time(token.expiry)
    if parent is not None:
        info["groupIdToken"] = {"idToken": parent.id_token, "type": parent.type.value}
    return {"idToken": {"idToken": token.id_token, "type": token.type.value},
            "idTokenInfo": info}


def send_local_lists(tokens: TokenList, protocol: Protocol,
                     chunk: int = DEFAULT_CHUNK) -> list[dict[str, Any]]:
    """The SendLocalList payloads that put ``tokens`` on a charger: Full, then Differential."""
    entries = [entry(t, tokens.parent_of(t), protocol) for _, t in sorted(tokens.tokens.items())
               if protocol.ocpp2 or len(t.id_token) <= MAX_ID_16]
    parts = [entries[i:i + chunk] for i in range(0, len(entries), chunk)] or [[]]
    payloads = []
    for n, part in enumerate(parts):
        payload: dict[str, Any] = {_VERSION_FIELD[protocol]: tokens.version,
                                   "updateType": "Full" if n == 0 else "Differential"}
        if part:
            payload["localAuthorizationList"] = part
        payloads.append(payload)
    return payloads


def push(send: Send, charge_point_id: str, protocol: Protocol, tokens: TokenList) -> PushResult:
    """Put ``tokens`` on one connected charger (see the module docstring)."""
    asked = send(charge_point_id, "GetLocalListVersion", {})
    early = _ended(charge_point_id, asked)
    if early is not None:
        return early
    version = asked["answer"].get(_VERSION_FIELD[protocol]) \
        if isinstance(asked["answer"], dict) else None
    if version == -1:
        return PushResult(charge_point_id, PushOutcome.not_supported, "list version -1")
    if version == tokens.version:
        return PushResult(charge_point_id, PushOutcome.current, f"version {version}")
    payloads = send_local_lists(tokens, protocol, _chunk(send, charge_point_id, protocol))
    for payload in payloads:
        record = send(charge_point_id, "SendLocalList", payload)
        ended = _ended(charge_point_id, record)
        if ended is not None:
            return ended
        if record["status"] != "Accepted":
            outcome = PushOutcome.not_supported if record["status"] in _NOT_SUPPORTED \
                else PushOutcome.failed
            return PushResult(charge_point_id, outcome, f"SendLocalList {record['status']}")
    size = sum(len(p.get("localAuthorizationList", ())) for p in payloads)
    return PushResult(charge_point_id, PushOutcome.pushed,
                      f"version {tokens.version}, {size} tokens in {len(payloads)} messages "
                      f"(charger had {version})")


def _ended(charge_point_id: str, record: dict[str, Any]) -> PushResult | None:
    """The result when a command did not get an answer to go on with, else None."""
    outcome = CommandOutcome(record["outcome"])
    if outcome is CommandOutcome.answered:
        return None
    if outcome is CommandOutcome.offline:
        return PushResult(charge_point_id, PushOutcome.offline, record["reason"])
    if outcome is CommandOutcome.call_error and record["status"] in _NOT_SUPPORTED:
        return PushResult(charge_point_id, PushOutcome.not_supported,
                          f"{record['action']}: {record['status']}")
    return PushResult(charge_point_id, PushOutcome.failed,
                      f"{record['action']} {outcome.value}: {record['reason']}")


def _chunk(send: Send, charge_point_id: str, protocol: Protocol) -> int:
    """The charger's entries per SendLocalList, if it tells; else ``DEFAULT_CHUNK``."""
    if protocol is Protocol.v16:
        record = send(charge_point_id, "GetConfiguration", {"key": ["SendLocalListMaxLength"]})
        answer = record.get("answer")
        rows = answer.get("configurationKey") if isinstance(answer, dict) else None
        values = [r.get("value") for r in rows or () if isinstance(r, dict)
                  and r.get("key") == "SendLocalListMaxLength"]
    else:
        record = send(charge_point_id, "GetVariables", {"getVariableData": [{
            "component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "ItemsPerMessage"}}]})
        answer = record.get("answer")
        rows = answer.get("getVariableResult") if isinstance(answer, dict) else None
        values = [r.get("attributeValue") for r in rows or () if isinstance(r, dict)
                  and r.get("attributeStatus") == "Accepted"]
    text = str(values[0]) if values else ""
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_CHUNK


def sender(client: Any, timeout_s: float, requested_by: str) -> Send:
    """``Send`` through an ``AdminClient``, recorded as ``tokens`` commands."""
    def send(charge_point_id: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = client.send(charge_point_id, action, payload, timeout_s,
                                             origin=CommandOrigin.tokens,
                                             requested_by=requested_by)
        return record

    return send
