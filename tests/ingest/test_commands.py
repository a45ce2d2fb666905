"""The command path over real wire: the admin API of a real server, chargers on real
WebSockets (the ``ocpp`` library's ChargePoint, which nobody here wrote, and scripted ones for
the misbehaving cases), everything read back from the journal."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action, RemoteStartStopStatus, ResetStatus

from canonical.commands import CommandOrigin, CommandOutcome, CommandRecord
from canonical.enums import Direction, ParseStatus, RecordKind
from canonical.errors import ConfigError
from chargeline.admin_client import AdminClient, AdminUnavailable
from ingest.admin_access import TOKEN_FILE, rotate_token
from ingest.server import CentralSystem
from tests.ingest.conftest import journal_frames, journal_records, ocpp_client, running_server


class Library16(ChargePoint16):
    """A 1.6 charger of the ``ocpp`` library that answers what a real one would."""

    @on(Action.reset)
    def on_reset(self, type: str) -> result16.Reset:  # the library passes it by this name
        return result16.Reset(status=ResetStatus.accepted)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> result16.RemoteStopTransaction:
        status = RemoteStartStopStatus.accepted if transaction_id == 7 \
            else RemoteStartStopStatus.rejected
        return result16.RemoteStopTransaction(status=status)


async def _until_connected(cs: CentralSystem, cp_id: str) -> None:
    for _ in range(500):
        if cp_id in cs.live:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{cp_id} never connected")


def _client(cs: CentralSystem) -> AdminClient:
    assert cs.admin is not None
    return AdminClient.of(cs.config.data_dir)


def _commands(data_dir: Path) -> list[CommandRecord]:
    return [CommandRecord.from_json(r.raw, r.frame_id)
            for r in journal_records(data_dir, RecordKind.command)]


def test_commands_reach_a_library_charger_and_everything_is_journaled(
        tmp_path: Path, run: Any) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_server(tmp_path, admin_port=0) as cs, \
                ocpp_client(Library16, cs, "CP-LIB", "ocpp1.6"):
            await _until_connected(cs, "CP-LIB")
            client = _client(cs)
            assert [c["charge_point_id"] for c in await asyncio.to_thread(client.chargers)] \
                == ["CP-LIB"]
            sends = [("Reset", {"type": "Soft"}), ("RemoteStopTransaction", {"transactionId": 7}),
                     ("RemoteStopTransaction", {"transactionId": 8}),
                     ("UnlockConnector", {"connectorId": 1})]
            return [await asyncio.to_thread(client.send, "CP-LIB", action, payload, 5.0,
                                            requested_by="ops@test")
                    for action, payload in sends]

    reset, stop_ok, stop_refused, unlock = run(scenario())
    assert (reset["outcome"], reset["status"], reset["answer"]) == (
        "answered", "Accepted", {"status": "Accepted"})
    assert reset["latency_ms"] > 0 and reset["requested_by"] == "ops@test"
    assert (stop_ok["status"], stop_refused["status"]) == ("Accepted", "Rejected")
    # the library charger has no handler for UnlockConnector: its CALLERROR, as it sent it
    assert unlock["outcome"] == "call_error" and unlock["status"] == "NotImplemented"
    frames = journal_frames(tmp_path, "CP-LIB")
    calls = [f for f in frames if f.direction == Direction.outbound and f.message_type == 2]
    answers = [f for f in frames if f.direction == Direction.inbound and f.message_type in (3, 4)]
    assert [c.action for c in calls] == [
        "Reset", "RemoteStopTransaction", "RemoteStopTransaction", "UnlockConnector"]
    assert [a.message_id for a in answers] == [c.message_id for c in calls]
    assert {a.parse_status for a in answers} == {ParseStatus.ok}
    records = _commands(tmp_path)
    assert [r.command_id for r in records] == [c.message_id for c in calls]
    assert [r.outcome for r in records] == ["answered"] * 3 + ["call_error"]
    assert all(r.origin == CommandOrigin.cli and r.protocol == "ocpp1.6" for r in records)


def test_refused_before_sending_offline_and_unknown_actions(tmp_path: Path, run: Any) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_server(tmp_path, admin_port=0) as cs, \
                ocpp_client(Library16, cs, "CP-LIB", "ocpp1.6"):
            await _until_connected(cs, "CP-LIB")
            client = _client(cs)
            sends = [("CP-LIB", "Reset", {"type": "Warm"}),  # not in the schema
                     ("CP-LIB", "Heartbeat", {}),  # a charger's action, not ours
                     ("CP-LIB", "NoSuchAction", {}),
                     ("CP-LIB", "RemoteStopTransaction", {"transactionId": "7"}),
                     ("CP-GONE", "Reset", {"type": "Soft"})]
            return [await asyncio.to_thread(client.send, cp, action, payload, 5.0)
                    for cp, action, payload in sends]

    results = run(scenario())
    assert [r["outcome"] for r in results] == ["invalid"] * 4 + ["offline"]
    assert "'Warm' is not one of ['Hard', 'Soft']" in results[0]["reason"]
    assert "not an action a central system sends in ocpp1.6" in results[1]["reason"]
    assert results[4]["reason"] == "not connected"
    assert not [f for f in journal_frames(tmp_path) if f.direction == Direction.outbound
                and f.message_type == 2], "nothing may be sent"
    assert [r.outcome for r in _commands(tmp_path)] == ["invalid"] * 4 + ["offline"]


async def _scripted(cs: CentralSystem, cp_id: str, behave: Any) -> Any:
    """A charger whose answers ``behave(ws, call)`` decides; returns its task and socket."""
    ws = await websockets.connect(f"ws://127.0.0.1:{cs.port}/ocpp/{cp_id}",
                                  subprotocols=["ocpp1.6"])  # type: ignore[list-item]

    async def loop() -> None:
        async for raw in ws:
            await behave(ws, orjson.loads(raw))

    task = asyncio.create_task(loop())
    await _until_connected(cs, cp_id)
    return task, ws


def test_timeout_late_answer_queue_and_disconnect(tmp_path: Path, run: Any) -> None:
    seen: list[tuple[str, float]] = []

    async def slow(ws: Any, call: list[Any]) -> None:
        """One CALL at a time; answers after 0.3 s; never answers ClearCache in time."""
        seen.append((call[2], asyncio.get_running_loop().time()))
        await asyncio.sleep(1.2 if call[2] == "ClearCache" else 0.3)
        await ws.send(orjson.dumps([3, call[1], {"status": "Accepted"}]).decode())

    async def mute(ws: Any, call: list[Any]) -> None:
        await ws.close()

    async def scenario() -> tuple[Any, ...]:
        async with running_server(tmp_path, admin_port=0) as cs:
            task, ws = await _scripted(cs, "CP-SLOW", slow)
            client = _client(cs)
            late = await asyncio.to_thread(client.send, "CP-SLOW", "ClearCache", {}, 0.5)
            await asyncio.sleep(1.0)  # its answer arrives after the timeout
            both = await asyncio.gather(*(asyncio.to_thread(
                client.send, "CP-SLOW", "ChangeAvailability",
                {"connectorId": 1, "type": kind}, 5.0) for kind in ("Inoperative", "Operative")))
            task.cancel()
            await ws.close()
            task, ws = await _scripted(cs, "CP-MUTE", mute)
            gone = await asyncio.to_thread(client.send, "CP-MUTE", "ClearCache", {}, 5.0)
            return late, both, gone

    late, both, gone = run(scenario())
    assert late["outcome"] == "timeout" and "no answer in 0.5 s" in late["reason"]
    assert [b["outcome"] for b in both] == ["answered", "answered"]
    times = [t for action, t in seen if action == "ChangeAvailability"]
    assert times[1] - times[0] >= 0.28, "the second command waited for the first answer"
    assert gone["outcome"] == "offline" and "disconnected" in gone["reason"]
    late_answer = [f for f in journal_frames(tmp_path, "CP-SLOW")
                   if f.direction == Direction.inbound and f.action == "ClearCache"]
    assert [f.parse_status for f in late_answer] == [ParseStatus.late_result]


def test_admin_api_refuses_without_the_token_and_journals_it(tmp_path: Path, run: Any) -> None:
    async def scenario() -> tuple[list[int], str]:
        async with running_server(tmp_path, admin_port=0) as cs:
            assert cs.admin is not None
            url = cs.admin.url
            codes = []
            for header in (None, "Bearer wrong", "Basic abc"):
                request = urllib.request.Request(url + "/chargers", headers={
                    "Authorization": header} if header else {})
                try:
                    await asyncio.to_thread(urllib.request.urlopen, request, timeout=5)
                    codes.append(200)
                except urllib.error.HTTPError as exc:
                    codes.append(exc.code)
            old = _client(cs)
            rotate_token(tmp_path)
            try:
                await asyncio.to_thread(old.chargers)
                stale = "accepted"
            except AdminUnavailable as exc:
                stale = str(exc)
            assert await asyncio.to_thread(_client(cs).chargers) == []
            await asyncio.sleep(1.2)  # the refusals are journaled once a second
            return codes, stale

    codes, stale = run(scenario())
    assert codes == [401, 401, 401]
    assert "401" in stale, "a rotated-out token no longer works"
    refusals = [orjson.loads(r.raw) for r in journal_records(tmp_path, RecordKind.auth_failed)]
    assert sum(r["refused"] for r in refusals if r["endpoint"] == "admin") == 4
    assert os.stat(tmp_path / TOKEN_FILE).st_mode & 0o777 == 0o600


def test_a_token_file_others_may_read_is_refused(tmp_path: Path, run: Any) -> None:
    rotate_token(tmp_path)
    (tmp_path / TOKEN_FILE).chmod(0o644)

    async def scenario() -> None:
        async with running_server(tmp_path, admin_port=0):
            pass

    with pytest.raises(ConfigError, match="may be read by others"):
        run(scenario())


def test_uploads_land_in_the_data_dir_once(tmp_path: Path, run: Any) -> None:
    async def scenario() -> tuple[int, int]:
        async with running_server(tmp_path, admin_port=0) as cs:
            url = await asyncio.to_thread(_client(cs).upload_slot, "CP/1")

            def put(name: str) -> int:
                request = urllib.request.Request(f"{url}{name}", data=b"diagnostics\n",
                                                 method="PUT")
                try:
                    return int(urllib.request.urlopen(request, timeout=5).status)
                except urllib.error.HTTPError as exc:
                    return exc.code

            return await asyncio.to_thread(put, "diag.log"), await asyncio.to_thread(
                put, "again.log")

    first, again = run(scenario())
    assert (first, again) == (201, 404)
    stored = list((tmp_path / "uploads").rglob("*diag.log"))
    assert len(stored) == 1 and stored[0].read_bytes() == b"diagnostics\n"
    assert stored[0].parent.name == "CP_1"


def test_observe_only_records_without_sending(tmp_path: Path, run: Any) -> None:
    from canonical.enums import Protocol
    from ingest.commands import CommandRequest

    async def scenario() -> CommandRecord:
        async with running_server(tmp_path) as cs:
            assert cs.desk is not None
            return await cs.desk.send(CommandRequest(
                "CP-X", "TriggerMessage", {"requestedMessage": "StatusNotification"},
                origin=CommandOrigin.recovery, observe_only=True, protocol=Protocol.v16,
                session_id="CP-X:1", step="trigger_status"))

    record = run(scenario())
    assert (record.outcome, record.step) == (CommandOutcome.observed, "trigger_status")
    assert not journal_frames(tmp_path)
    assert [r.outcome for r in _commands(tmp_path)] == ["observed"]


def test_chargeline_send_exit_codes(tmp_path: Path) -> None:
    """``chargeline send`` against a real ``chargeline serve`` process, found through the
    data dir: 0 on a CALLRESULT, 1 on a CALLERROR or an offline charger, 2 refused before
    sending; the answer on stdout, one line of reason on stderr."""
    import subprocess
    import sys
    import time

    from chargeline.ports import free_port, wait_port

    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "chargeline", "serve", "--data-dir",
                              str(tmp_path), "--port", str(port)], stderr=subprocess.PIPE)
    try:
        wait_port(port)
        for _ in range(200):
            if (tmp_path / "admin.json").exists():
                break
            time.sleep(0.05)

        def send(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "chargeline", "send", "--data-dir",
                                   str(tmp_path), *argv], capture_output=True, text=True,
                                  timeout=60, check=False)

        async def charger() -> list[subprocess.CompletedProcess[str]]:
            url = f"ws://127.0.0.1:{port}/ocpp/CP-CLI"
            async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
                cp = Library16("CP-CLI", ws)
                task = asyncio.create_task(cp.start())
                await asyncio.sleep(0.3)
                runs = [await asyncio.to_thread(send, "CP-CLI", *argv) for argv in (
                    ("Reset", '{"type": "Hard"}'), ("UnlockConnector", '{"connectorId": 1}'),
                    ("Reset", '{"type": "Warm"}'), ("Reset", "not json"))]
                task.cancel()
                return runs

        ok, error, invalid, not_json = asyncio.run(charger())
        offline = send("CP-NONE", "Reset", '{"type": "Soft"}')
    finally:
        serve.terminate()
        serve.wait(20)
    assert (ok.returncode, orjson.loads(ok.stdout)) == (0, {"status": "Accepted"})
    assert error.returncode == 1 and "call_error: NotImplemented" in error.stderr
    assert invalid.returncode == 2 and "'Warm' is not one of" in invalid.stderr
    assert not_json.returncode == 2 and "payload is not JSON" in not_json.stderr
    assert offline.returncode == 1 and "offline: not connected" in offline.stderr
    assert not (tmp_path / "admin.json").exists(), "a stopped serve withdraws its endpoint"


def test_commands_reach_the_warehouse_and_the_session_timeline(tmp_path: Path,
                                                               run: Any) -> None:
    """A remote stop of a running session: a row of the ``commands`` view, and an event on
    the session's timeline (with the CALL and its answer); replayed by the real flow."""
    import subprocess
    import sys

    from ocpp.v16 import call as call16

    from warehouse import catalog

    async def scenario() -> None:
        async with running_server(tmp_path, admin_port=0) as cs, \
                ocpp_client(Library16, cs, "CP-TL", "ocpp1.6") as (cp, _):
            await cp.call(call16.BootNotification(charge_point_model="M",
                                                  charge_point_vendor="V"))
            started = await cp.call(call16.StartTransaction(
                connector_id=1, id_tag="TAG", meter_start=1000,
                timestamp="2026-12-01T10:00:00Z"))
            tx = str(started.transaction_id)
            answer = await asyncio.to_thread(
                _client(cs).send, "CP-TL", "RemoteStopTransaction",
                {"transactionId": started.transaction_id}, 5.0, origin=CommandOrigin.dashboard,
                requested_by="operator", session_id=f"CP-TL:{tx}", transaction_id=tx)
            assert answer["outcome"] == "answered"

    run(scenario())
    subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir", str(tmp_path)],
                   check=True, capture_output=True)
    catalog.ensure(tmp_path)
    con = catalog.connect(tmp_path)
    rows = catalog.query(con, tmp_path, "select * from commands").to_pylist()
    assert [(r["action"], r["outcome"], r["origin"], r["requested_by"]) for r in rows] == [
        ("RemoteStopTransaction", "answered", "dashboard", "operator")]
    session_id = catalog.query(con, tmp_path, "select session_id from sessions").to_pylist()[0][
        "session_id"]
    timeline = catalog.query(con, tmp_path, f"select * from session_timeline where session_id "
                                            f"= '{session_id}' order by position").to_pylist()
    commands = [t for t in timeline if t["event_type"] == "command"]
    assert len(commands) == 1 and "RemoteStopTransaction" in commands[0]["summary"]
    actions = [(t["direction"], t["action"]) for t in timeline if t["source"] == "frame"]
    assert ("out", "RemoteStopTransaction") in actions and ("in", "RemoteStopTransaction") in actions
