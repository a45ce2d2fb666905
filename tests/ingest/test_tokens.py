"""The authorization list over real wire: a real server on 127.0.0.1, chargers on real
WebSockets, every answer checked against the ``ocpp`` library's JSON schemas; the list file
edited while the server runs; the refused attempt followed through the real flow."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ocpp
import pytest
import websockets
from jsonschema import Draft7Validator
from ocpp.v16.enums import AuthorizationStatus
from ocpp.v201.enums import AuthorizationStatusEnumType

from canonical.enums import TokenStatus
from canonical.errors import ConfigError
from ingest.server import CentralSystem
from ingest.tokens import Token, TokenStore, UnknownTokens, parse_token
from tests.ingest.conftest import running_server

SCHEMAS = Path(ocpp.__file__).parent
V16, V201 = "ocpp1.6", "ocpp2.0.1"
_IDS = itertools.count(1)


class Charger:
    """A scripted charger: sends CALLs, returns each CALLRESULT payload, schema-checked."""

    def __init__(self, ws: Any, protocol: str) -> None:
        self.ws, self.protocol = ws, protocol

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        message_id = f"m{next(_IDS)}"
        await self.ws.send(json.dumps([2, message_id, action, payload]))
        kind, answered_id, answer = json.loads(await self.ws.recv())
        assert (kind, answered_id) == (3, message_id), answer
        folder = "v16" if self.protocol == V16 else "v201"
        schema = json.loads((SCHEMAS / folder / "schemas" / f"{action}Response.json")
                            .read_text("utf-8-sig"))
        errors = [e.message for e in Draft7Validator(schema).iter_errors(answer)]
        assert not errors, (action, answer, errors)
        return dict(answer)


def charger(cs: CentralSystem, cp_id: str, protocol: str) -> Any:
    return websockets.connect(f"ws://127.0.0.1:{cs.port}/ocpp/{cp_id}", subprotocols=[protocol])


def listed(data_dir: Path) -> TokenStore:
    store = TokenStore.in_dir(data_dir)
    store.put([parse_token("BLOCKED1", "Blocked"),
               parse_token("OLD1", "Accepted", "2020-01-01T00:00:00Z"),
               parse_token("KID1", "Accepted", "2099-01-01T00:00:00+01:00", "GROUP1"),
               parse_token("kid2", parent_id="FLEET", token_type="eMAID"),
               parse_token("FLEET", token_type="Central")])
    return store


def test_1_6_answers_come_from_the_list(tmp_path: Path, run: Any) -> None:
    listed(tmp_path)

    async def scenario() -> list[dict[str, Any]]:
        async with running_server(tmp_path, unknown_tokens=UnknownTokens.reject) as cs, \
                charger(cs, "CP-16", V16) as ws:
            cp = Charger(ws, V16)
            start = {"connectorId": 1, "meterStart": 0, "timestamp": "2026-01-01T00:00:00Z"}
            return [
                await cp.call("Authorize", {"idTag": "BLOCKED1"}),
                await cp.call("Authorize", {"idTag": "old1"}),  # CiString: any case
                await cp.call("Authorize", {"idTag": "KID1"}),
                await cp.call("Authorize", {"idTag": "NOBODY"}),
                await cp.call("StartTransaction", {**start, "idTag": "BLOCKED1"}),
                await cp.call("StopTransaction", {"transactionId": 1, "meterStop": 5,
                                                  "timestamp": "2026-01-01T00:01:00Z",
                                                  "idTag": "BLOCKED1"}),
                await cp.call("StopTransaction", {"transactionId": 1, "meterStop": 5,
                                                  "timestamp": "2026-01-01T00:01:00Z"})]

    blocked, expired, kid, unknown, start, stop, stop_no_tag = run(scenario())
    assert blocked == {"idTagInfo": {"status": "Blocked"}}
    assert expired == {"idTagInfo": {"status": "Expired", "expiryDate": "2020-01-01T00:00:00Z"}}
    assert kid == {"idTagInfo": {"status": "Accepted", "expiryDate": "2098-12-31T23:00:00Z",
                                 "parentIdTag": "GROUP1"}}
    assert unknown == {"idTagInfo": {"status": "Invalid"}}
    # A blocked start still gets its transactionId: the charger must know what to stop.
    assert isinstance(start["transactionId"], int) and start["idTagInfo"] == {"status": "Blocked"}
    assert stop == {"idTagInfo": {"status": "Blocked"}} and stop_no_tag == {}


def test_2_0_1_answers_come_from_the_list(tmp_path: Path, run: Any) -> None:
    listed(tmp_path)

    def token(text: str, kind: str = "ISO14443") -> dict[str, Any]:
        return {"idToken": {"idToken": text, "type": kind}}

    async def scenario() -> list[dict[str, Any]]:
        async with running_server(tmp_path, unknown_tokens=UnknownTokens.reject) as cs, \
                charger(cs, "CP-201", V201) as ws:
            cp = Charger(ws, V201)
            event = {"eventType": "Started", "timestamp": "2026-01-01T00:00:00Z",
                     "triggerReason": "Authorized", "seqNo": 0,
                     "transactionInfo": {"transactionId": "T1"}}
            return [
                await cp.call("Authorize", token("BLOCKED1")),
                await cp.call("Authorize", token("OLD1")),
                await cp.call("Authorize", token("kid2", "eMAID")),
                await cp.call("Authorize", token("KID1")),
                await cp.call("Authorize", token("NOBODY")),
                await cp.call("Authorize", token("BLOCKED1", "KeyCode")),  # another token
                await cp.call("Authorize", token("", "NoAuthorization")),
                await cp.call("TransactionEvent", {**event, **token("BLOCKED1")}),
                await cp.call("TransactionEvent", event)]

    blocked, expired, kid2, kid1, unknown, other_type, free, event, no_token = run(scenario())
    assert blocked == {"idTokenInfo": {"status": "Blocked"}}
    assert expired["idTokenInfo"] == {"status": "Expired",
                                      "cacheExpiryDateTime": "2020-01-01T00:00:00Z"}
    assert kid2["idTokenInfo"] == {"status": "Accepted",
                                   "groupIdToken": {"idToken": "FLEET", "type": "Central"}}
    assert kid1["idTokenInfo"]["groupIdToken"] == {"idToken": "GROUP1", "type": "Central"}
    assert unknown == other_type == {"idTokenInfo": {"status": "Unknown"}}
    assert free == {"idTokenInfo": {"status": "Accepted"}}  # names nobody: not judged
    assert event == {"idTokenInfo": {"status": "Blocked"}} and no_token == {}


def test_unknown_tokens_are_accepted_by_default(tmp_path: Path, run: Any) -> None:
    async def scenario() -> dict[str, Any]:
        async with running_server(tmp_path) as cs, charger(cs, "CP-D", V16) as ws:
            return await Charger(ws, V16).call("Authorize", {"idTag": "ANYONE"})

    assert run(scenario()) == {"idTagInfo": {"status": "Accepted"}}


def test_edits_of_the_file_take_effect_while_the_server_runs(tmp_path: Path, run: Any) -> None:
    store = TokenStore.in_dir(tmp_path)

    async def scenario() -> list[str]:
        async with running_server(tmp_path, unknown_tokens=UnknownTokens.reject) as cs, \
                charger(cs, "CP-E", V16) as ws:
            cp = Charger(ws, V16)

            async def status() -> str:
                return str((await cp.call("Authorize", {"idTag": "NEW1"}))["idTagInfo"]["status"])

            seen = [await status()]
            store.add(parse_token("NEW1"))  # as `chargeline tokens add` does
            seen.append(await status())
            path = tmp_path / "tokens.json"
            path.write_text(path.read_text().replace('"Accepted"', '"Blocked"'))  # an editor
            seen.append(await status())
            path.write_text('{"version": 9, "tokens": [{"id_token": "NE\\u0007W1"}]}')
            seen.append(await status())  # a hostile edit: refused, the last list stands
            with pytest.raises(ConfigError, match="control characters"):
                store.remove("new1")  # nor is a broken file edited further
            path.write_text('{"version": 10, "tokens": []}')
            seen.append(await status())
            return seen

    assert run(scenario()) == ["Invalid", "Accepted", "Blocked", "Blocked", "Invalid"]


def test_a_hostile_file_stops_the_server_at_start(tmp_path: Path, run: Any) -> None:
    (tmp_path / "tokens.json").write_text(
        '{"version": 1, "tokens": [{"id_token": "A", "status": "Sometimes"}]}')

    async def scenario() -> None:
        async with running_server(tmp_path):
            pass

    with pytest.raises(ConfigError, match="unknown status 'Sometimes'"):
        run(scenario())


def test_the_file_is_private_and_versioned(tmp_path: Path) -> None:
    store = TokenStore.in_dir(tmp_path)
    store.add(parse_token("A1"))
    store.add(parse_token("A1"))  # no change: no new version
    store.put([parse_token("A2"), parse_token("A3", "Invalid")])
    assert not store.remove("nobody")
    store.remove("a2")
    assert os.stat(tmp_path / "tokens.json").st_mode & 0o777 == 0o600
    tokens = TokenStore.in_dir(tmp_path).read()
    assert tokens.version == 3
    assert {t.id_token: t.status for t in tokens.tokens.values()} == {
        "A1": TokenStatus.accepted, "A3": TokenStatus.invalid}


@pytest.mark.parametrize("id_token, message", [
    ("", "1-36 characters"), ("X" * 37, "1-36 characters"), ("A\nB", "control characters"),
    ("A\x00", "control characters"), ("A B", "without spaces"), ("Ä1", "printable ASCII"),
    ("A\x1b[2J", "control characters")])
def test_hostile_ids_are_refused(id_token: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_token(id_token)


@pytest.mark.parametrize("fields, message", [
    ({"status": "Maybe"}, "unknown status 'Maybe'; valid: Accepted, Blocked"),
    ({"status": "ConcurrentTx"}, "unknown status"),
    ({"expiry": "2026-02-30T00:00:00Z"}, "not an ISO 8601"),
    ({"expiry": "tomorrow"}, "not an ISO 8601"),
    ({"expiry": "2026-01-01T00:00:00"}, "no UTC offset"),
    ({"parent_id": "P\tQ"}, "parent id must be printable"),
    ({"token_type": "Barcode"}, "unknown token type 'Barcode'; valid: Central")])
def test_hostile_fields_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_token("OK1", **fields)


def test_statuses_are_the_ocpp_wire_values() -> None:
    for status in TokenStatus:
        assert AuthorizationStatus(status.value) and AuthorizationStatusEnumType(status.value)


def test_an_accepted_token_expires_at_its_expiry() -> None:
    token = parse_token("T", expiry="2026-01-01T01:00:00+01:00")
    at = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
    assert (token.status_at(at - 1), token.status_at(at)) == (
        TokenStatus.accepted, TokenStatus.expired)
    assert Token("B", status=TokenStatus.blocked, expiry=token.expiry).status_at(at) \
        is TokenStatus.blocked


def test_refused_starts_reach_the_session_and_its_timeline(tmp_path: Path, run: Any) -> None:
    """The journal of a real server, through ``chargeline replay``: both protocols' refused
    starts are ``authorization`` events, ``start_refused`` sessions, and timeline rows."""
    TokenStore.in_dir(tmp_path).add(parse_token("BLOCKED1", "Blocked"))

    async def scenario() -> None:
        async with running_server(tmp_path) as cs:
            async with charger(cs, "CP-R16", V16) as ws:
                cp = Charger(ws, V16)
                await cp.call("BootNotification", {"chargePointVendor": "V",
                                                   "chargePointModel": "M"})
                await cp.call("StartTransaction", {"connectorId": 1, "idTag": "BLOCKED1",
                                                   "meterStart": 0,
                                                   "timestamp": "2026-01-01T00:00:00Z"})
            async with charger(cs, "CP-R201", V201) as ws:
                cp = Charger(ws, V201)
                await cp.call("BootNotification", {"reason": "PowerUp", "chargingStation": {
                    "model": "M", "vendorName": "V"}})
                await cp.call("TransactionEvent", {
                    "eventType": "Started", "timestamp": "2026-01-01T00:00:00Z",
                    "triggerReason": "Authorized", "seqNo": 0, "evse": {"id": 1},
                    "transactionInfo": {"transactionId": "T1"},
                    "idToken": {"idToken": "BLOCKED1", "type": "ISO14443"}})

    run(scenario())
    subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir", str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    from warehouse import catalog

    def rows(sql: str) -> list[dict[str, Any]]:
        return catalog.query(catalog.connect(tmp_path), tmp_path, sql).to_pylist()

    sessions = {r["charge_point_id"]: r for r in rows("select * from sessions")}
    assert "start_refused" in sessions["CP-R16"]["flags"]
    assert "start_refused" in sessions["CP-R201"]["flags"]
    refused = rows("select charge_point_id, status, id_tag, transaction_key from events "
                   "where event_type = 'authorization'")
    assert sorted((r["charge_point_id"], r["status"], r["id_tag"]) for r in refused) == [
        ("CP-R16", "Blocked", "BLOCKED1"), ("CP-R201", "Blocked", "BLOCKED1")]
    for cp_id, session in sessions.items():
        timeline = rows(f"select event_type, summary from session_timeline "
                        f"where session_id = '{session['session_id']}'")
        assert {"event_type": "authorization", "summary": "authorization Blocked BLOCKED1"} \
            in timeline, (cp_id, timeline)
