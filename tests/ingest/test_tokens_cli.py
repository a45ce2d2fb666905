"""``chargeline tokens``: add, remove, list, import (all or nothing) and push (through the admin
API of a real server to scripted chargers on real WebSockets)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import websockets

from chargeline.cli import main
from ingest.server import CentralSystem
from ingest.tokens import TokenStore, parse_token
from tests.ingest.conftest import running_server

Answer = Callable[[str, dict[str, Any]], list[Any]]  # (action, payload) → the frame's tail


def tokens(data_dir: Path, *args: str) -> int:
    return main(["tokens", *args, "--data-dir", str(data_dir)])


def test_add_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tokens(tmp_path, "add", "ABC123") == 0
    assert tokens(tmp_path, "add", "KID", "--status", "blocked", "--expiry",
                  "2030-01-01T00:00:00+02:00", "--parent", "GROUP", "--type", "emaid") == 0
    capsys.readouterr()
    assert tokens(tmp_path, "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == {"version": 2, "tokens": [
        {"id_token": "ABC123", "type": "ISO14443", "status": "Accepted", "expiry": None,
         "parent_id": None},
        {"id_token": "KID", "type": "eMAID", "status": "Blocked",
         "expiry": "2029-12-31T22:00:00Z", "parent_id": "GROUP"}]}
    assert tokens(tmp_path, "remove", "abc123") == 0
    assert tokens(tmp_path, "remove", "abc123") == 2
    assert "token 'abc123' is not on the list" in capsys.readouterr().err
    assert tokens(tmp_path, "list") == 0
    assert capsys.readouterr().out == "KID\tBlocked\teMAID\t2029-12-31T22:00:00Z\tGROUP\n"


@pytest.mark.parametrize("args, message", [
    (["add", "BAD\x1b[31m"], "control characters: 'BAD\\x1b[31m'"),
    (["add", "T" * 40], "token id must be 1-36 characters, got 40"),
    (["add", "T1", "--status", "Sometimes"], "unknown status 'Sometimes'"),
    (["add", "T1", "--expiry", "2026-01-01"], "expiry '2026-01-01' has no UTC offset"),
    (["import", "missing.csv"], "no such file")])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str], message: str) -> None:
    assert tokens(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "tokens.json").exists()


def test_import_is_all_or_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    TokenStore.in_dir(tmp_path).add(parse_token("KEEP"))
    before = (tmp_path / "tokens.json").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("id_token,status,expiry,parent_id,type\nA1,Blocked,,,\nA2,,,,KeyCode\n"
                   "A3,Accepted,2026-13-01T00:00:00Z,,\nA4,,,,\n")
    assert tokens(tmp_path, "import", str(bad)) == 2
    err = capsys.readouterr().err
    assert "line 4: expiry '2026-13-01T00:00:00Z' is not an ISO 8601" in err
    assert "nothing imported" in err
    assert (tmp_path / "tokens.json").read_bytes() == before
    twice = tmp_path / "twice.csv"
    twice.write_text("id_token,status,expiry,parent_id,type\nA1,,,,\na1,,,,\n")
    assert tokens(tmp_path, "import", str(twice)) == 2
    assert "line 3: token 'a1' already on line 2" in capsys.readouterr().err
    header = tmp_path / "header.csv"
    header.write_text("id,status\nA1,Accepted\n")
    assert tokens(tmp_path, "import", str(header)) == 2
    assert "line 1: header must be" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text("\ufeffid_token,status,expiry,parent_id,type\r\nA1,Blocked,,,\r\n"
                    "A2,,2030-01-01T00:00:00Z,A1,KeyCode\r\n")
    assert tokens(tmp_path, "import", str(good)) == 0
    listed = TokenStore.in_dir(tmp_path).read()
    assert listed.version == 2  # the whole file is one change
    assert sorted(t.id_token for t in listed.tokens.values()) == ["A1", "A2", "KEEP"]


@contextlib.asynccontextmanager
async def scripted(cs: CentralSystem, cp_id: str, protocol: str,
                   answer: Answer) -> AsyncIterator[list[tuple[str, dict[str, Any]]]]:
    """A charger answering CSMS CALLs with ``answer``; yields the CALLs it got."""
    got: list[tuple[str, dict[str, Any]]] = []
    async with websockets.connect(f"ws://127.0.0.1:{cs.port}/ocpp/{cp_id}",
                                  subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        async def loop() -> None:
            async for raw in ws:
                call = json.loads(raw)
                got.append((call[2], call[3]))
                kind, *rest = answer(call[2], call[3])
                await ws.send(json.dumps([kind, call[1], *rest]))

        task = asyncio.create_task(loop())
        while cp_id not in cs.live:
            await asyncio.sleep(0.01)
        try:
            yield got
        finally:
            task.cancel()


def v16(version: int, max_length: str | None = None, status: str = "Accepted") -> Answer:
    def answer(action: str, _: dict[str, Any]) -> list[Any]:
        if action == "GetLocalListVersion":
            return [3, {"listVersion": version}]
        if action == "GetConfiguration":
            keys = [] if max_length is None else [
                {"key": "SendLocalListMaxLength", "readonly": True, "value": max_length}]
            return [3, {"configurationKey": keys}]
        return [3, {"status": status}]

    return answer


def v201(version: int | None) -> Answer:
    def answer(action: str, _: dict[str, Any]) -> list[Any]:
        if version is None:
            return [4, "NotImplemented", "no local list here", {}]
        return [3, {"versionNumber": version}]

    return answer


def test_push_reports_each_charger(tmp_path: Path, run: Any,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    store = TokenStore.in_dir(tmp_path)
    store.put([parse_token("A1", "Blocked", "2030-01-01T00:00:00Z", "GROUP"),
               parse_token("A2"), parse_token("A3"), parse_token("L" * 30)])  # 1.6: too long
    capsys.readouterr()

    async def scenario() -> tuple[int, list[Any]]:
        async with running_server(tmp_path, admin_port=0) as cs, \
                scripted(cs, "CP-NEW", "ocpp1.6", v16(0, "2")) as new, \
                scripted(cs, "CP-FAIL", "ocpp1.6", v16(0, None, "Failed")) as fail, \
                scripted(cs, "CP-NONE", "ocpp1.6", v16(-1)), \
                scripted(cs, "CP-CUR", "ocpp2.0.1", v201(1)), \
                scripted(cs, "CP-OLD", "ocpp2.0.1", v201(None)):
            code = await asyncio.to_thread(
                main, ["tokens", "push", "--data-dir", str(tmp_path), "CP-NEW", "CP-FAIL",
                       "CP-NONE", "CP-CUR", "CP-OLD", "CP-AWAY"])
            return code, [new, fail]

    code, (new, fail) = run(scenario())
    assert code == 1
    assert capsys.readouterr().out.splitlines() == [
        "CP-NEW: pushed (version 1, 3 tokens in 2 messages (charger had 0))",
        "CP-FAIL: failed (SendLocalList Failed)",
        "CP-NONE: not supported (list version -1)",
        "CP-CUR: already current (version 1)",
        "CP-OLD: not supported (GetLocalListVersion: NotImplemented)",
        "CP-AWAY: offline (not connected)"]
    assert new == [
        ("GetLocalListVersion", {}),
        ("GetConfiguration", {"key": ["SendLocalListMaxLength"]}),
        ("SendLocalList", {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
            {"idTag": "A1", "idTagInfo": {"status": "Blocked", "expiryDate":
                                          "2030-01-01T00:00:00Z", "parentIdTag": "GROUP"}},
            {"idTag": "A2", "idTagInfo": {"status": "Accepted"}}]}),
        ("SendLocalList", {"listVersion": 1, "updateType": "Differential",
                           "localAuthorizationList": [
                               {"idTag": "A3", "idTagInfo": {"status": "Accepted"}}]})]
    assert [a for a, _ in fail] == ["GetLocalListVersion", "GetConfiguration", "SendLocalList"]
    assert len(fail[2][1]["localAuthorizationList"]) == 3  # SendLocalListMaxLength unknown: 100


def test_push_to_every_connected_2_0_1_charger(tmp_path: Path, run: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    TokenStore.in_dir(tmp_path).add(parse_token("E1", parent_id="FLEET", token_type="eMAID"))

    def answer(action: str, _: dict[str, Any]) -> list[Any]:
        return [3, {"versionNumber": 0} if action == "GetLocalListVersion" else
                {"getVariableResult": []} if action == "GetVariables" else {"status": "Accepted"}]

    async def scenario() -> list[Any]:
        async with running_server(tmp_path, admin_port=0) as cs, \
                scripted(cs, "CP-201", "ocpp2.0.1", answer) as got:
            assert await asyncio.to_thread(
                main, ["tokens", "push", "--data-dir", str(tmp_path)]) == 0
            return got

    got = run(scenario())
    assert capsys.readouterr().out.startswith("CP-201: pushed (version 1, 1 tokens")
    assert got[-1] == ("SendLocalList", {"versionNumber": 1, "updateType": "Full",
                                         "localAuthorizationList": [{
                                             "idToken": {"idToken": "E1", "type": "eMAID"},
                                             "idTokenInfo": {"status": "Accepted", "groupIdToken":
                                                             {"idToken": "FLEET",
                                                              "type": "Central"}}}]})
