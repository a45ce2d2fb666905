"""Proxy mode over real wire: chargers (the ``ocpp`` library's client) → chargeline →
an upstream central system nobody here wrote (the ``ocpp`` library's central-system side);
every frame journaled before it is forwarded, byte for byte both ways."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action, RemoteStartStopStatus

from canonical.commands import CommandOutcome
from canonical.enums import Direction, ParseStatus, RecordKind
from ingest.commands import CommandRequest
from ingest.upstream import UpstreamConfig, UpstreamDown, UpstreamLost
from tests.ingest.conftest import journal_frames, journal_records, ocpp_client, running_server
from tests.ingest.test_hostile import fill, heartbeat, outage_record, small_disk
from tests.ingest.upstream_csms import TX_ID, upstream_csms

__all__ = ["small_disk"]  # a fixture: a 2 MiB tmpfs that really fills up

T0 = "2026-12-01T10:00:00Z"


class Charger(ChargePoint16):
    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> result16.RemoteStopTransaction:
        return result16.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)

    @on(Action.clear_cache)
    def on_clear_cache(self) -> result16.ClearCache:
        return result16.ClearCache(status="Accepted")


def _proxy(url: str, **options: Any) -> UpstreamConfig:
    return UpstreamConfig(url, **options)


async def _session(cp: Any) -> Any:
    await cp.call(call16.BootNotification(charge_point_model="M", charge_point_vendor="V"))
    started = await cp.call(call16.StartTransaction(connector_id=1, id_tag="TAG",
                                                    meter_start=1000, timestamp=T0))
    await cp.call(call16.MeterValues(connector_id=1, transaction_id=started.transaction_id,
                                     meter_value=[{"timestamp": T0, "sampledValue": [
                                         {"value": "1500", "measurand":
                                          "Energy.Active.Import.Register", "unit": "Wh"}]}]))
    return started


def test_everything_forwarded_as_is_and_journaled_first(tmp_path: Path, run: Any) -> None:
    async def scenario() -> tuple[Any, Any, list[tuple[str, str]], dict[str, int]]:
        async with upstream_csms() as up, running_server(
                tmp_path, upstream=_proxy(up.url)) as cs, \
                ocpp_client(Charger, cs, "CP-P1", "ocpp1.6") as (cp, rec):
            started = await _session(cp)
            # the upstream's own CALL reaches the charger, its answer goes back
            stopped = await up.chargers["CP-P1"].call(
                call16.RemoteStopTransaction(transaction_id=TX_ID))
            await cp.call(call16.StopTransaction(meter_stop=2000, timestamp=T0,
                                                 transaction_id=started.transaction_id))
            conn = cs.live["CP-P1"]
            return started, stopped, rec.log, dict(conn.forwarded)

    started, stopped, wire, forwarded = run(scenario())
    assert started.transaction_id == TX_ID, "the charger gets the upstream's transactionId"
    assert stopped.status == "Accepted"
    frames = journal_frames(tmp_path, "CP-P1")
    # byte for byte: what the charger sent and got is what the journal holds, in order
    assert [(f.direction, f.raw) for f in frames] == wire
    assert forwarded == {"to_upstream": 5, "to_charger": 5}  # 4 CALLs + 1 answer each way
    assert len(frames) == sum(forwarded.values()), "frames journaled = frames forwarded"
    assert {f.parse_status for f in frames} == {ParseStatus.ok}
    answers = {f.action for f in frames if f.message_type == 3}
    assert answers == {"BootNotification", "StartTransaction", "MeterValues",
                       "StopTransaction", "RemoteStopTransaction"}
    connected = orjson.loads(journal_records(tmp_path, RecordKind.connected)[0].raw)
    assert connected["proxied"] is True and connected["upstream"].endswith("CentralSystemService")


def test_upstream_path_subprotocol_and_credentials(tmp_path: Path, run: Any) -> None:
    """The upstream sees <path>/<id>, the charger's subprotocol, and the charger's own
    Authorization — or the stored upstream password; its 401 is the charger's 401."""
    from ingest.upstream import UpstreamCredentials

    async def connect(cs: Any, cp_id: str, password: str) -> int:
        import base64

        header = "Basic " + base64.b64encode(f"{cp_id}:{password}".encode()).decode()
        try:
            async with websockets.connect(
                    f"ws://127.0.0.1:{cs.port}/ocpp/{cp_id}", subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                    additional_headers={"Authorization": header}) as ws:
                assert ws.subprotocol == "ocpp1.6"
                return 101
        except websockets.InvalidStatus as exc:
            return int(exc.response.status_code)

    async def scenario() -> tuple[list[int], list[str]]:
        async with upstream_csms(password="upstream-secret-1234") as up, running_server(
                tmp_path, upstream=_proxy(up.url)) as cs:
            codes = [await connect(cs, "CP-OWN", "upstream-secret-1234"),
                     await connect(cs, "CP-BAD", "charger-secret-12345")]
            UpstreamCredentials.in_dir(tmp_path).set("CP-BAD", "upstream-secret-1234")
            codes.append(await connect(cs, "CP-BAD", "charger-secret-12345"))
            return codes, up.paths

    codes, paths = run(scenario())
    assert codes == [101, 401, 101]
    assert paths[0] == "/steve/websocket/CentralSystemService/CP-OWN"
    refused = [orjson.loads(r.raw) for r in journal_records(tmp_path, RecordKind.refused)]
    assert [(r["status"], r["reason"]) for r in refused] == [(401, "upstream says no")]


@pytest.mark.parametrize("policy", [UpstreamDown.refuse, UpstreamDown.answer])
def test_upstream_unreachable_at_connect(tmp_path: Path, run: Any, policy: UpstreamDown) -> None:
    from chargeline.ports import free_port

    async def scenario() -> Any:
        dead = f"ws://127.0.0.1:{free_port()}/csms"
        async with running_server(tmp_path, upstream=_proxy(dead, down=policy)) as cs:
            try:
                async with ocpp_client(Charger, cs, "CP-D", "ocpp1.6") as (cp, _):
                    return await asyncio.wait_for(cp.call(call16.BootNotification(
                        charge_point_model="M", charge_point_vendor="V")), 5)
            except websockets.InvalidStatus as exc:
                return exc.response.status_code

    answer = run(scenario())
    if policy == UpstreamDown.refuse:
        assert answer == 503
        assert "upstream central system unreachable" in journal_records(
            tmp_path, RecordKind.refused)[0].raw
    else:
        assert answer.status == "Accepted", "answered here, as without a proxy"
        connected = orjson.loads(journal_records(tmp_path, RecordKind.connected)[0].raw)
        assert connected["proxied"] is False


def test_upstream_lost_close_makes_the_charger_reconnect(tmp_path: Path, run: Any) -> None:
    async def scenario() -> int | None:
        async with upstream_csms() as up, running_server(
                tmp_path, upstream=_proxy(up.url, lost=UpstreamLost.close)) as cs, \
                websockets.connect(f"ws://127.0.0.1:{cs.port}/ocpp/CP-L",
                                   subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
            while "CP-L" not in up.chargers:
                await asyncio.sleep(0.01)
            await up.chargers["CP-L"]._connection.close()
            with contextlib.suppress(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return ws.close_code

    assert run(scenario()) == 1011
    lost = [orjson.loads(r.raw) for r in journal_records(tmp_path, RecordKind.upstream)]
    assert [r["event"] for r in lost] == ["lost"]
    assert "upstream connection lost" in journal_records(tmp_path, RecordKind.disconnected)[0].raw


def test_upstream_lost_hold_forwards_what_waited(tmp_path: Path, run: Any) -> None:
    async def scenario() -> tuple[Any, list[str]]:
        async with upstream_csms() as up:
            port = up.port
            async with running_server(tmp_path, upstream=_proxy(
                    up.url, lost=UpstreamLost.hold, retry_s=10)) as cs, \
                    ocpp_client(Charger, cs, "CP-H", "ocpp1.6") as (cp, _):
                await cp.call(call16.BootNotification(charge_point_model="M",
                                                      charge_point_vendor="V"))
                up.server.close()
                await up.chargers["CP-H"]._connection.close()
                await up.server.wait_closed()
                late = asyncio.create_task(cp.call(call16.Heartbeat()))
                await asyncio.sleep(0.5)
                async with upstream_csms(port=port) as again:
                    answer = await asyncio.wait_for(late, 10)
                    return answer, again.paths

    answer, paths = run(scenario())
    assert answer.current_time and paths == ["/steve/websocket/CentralSystemService/CP-H"]
    events = [orjson.loads(r.raw)["event"] for r in journal_records(tmp_path, RecordKind.upstream)]
    assert events[:2] == ["lost", "restored"]  # (then lost again: the test's upstream stops)


def test_a_slow_upstream_answer_blocks_no_other_charger(tmp_path: Path, run: Any) -> None:
    async def scenario() -> float:
        async with upstream_csms(slow={"CP-SLOW"}) as up, running_server(
                tmp_path, upstream=_proxy(up.url)) as cs, \
                ocpp_client(Charger, cs, "CP-SLOW", "ocpp1.6") as (slow, _), \
                ocpp_client(Charger, cs, "CP-FAST", "ocpp1.6") as (fast, _):
            waiting = asyncio.create_task(slow.call(call16.Heartbeat()))
            await asyncio.sleep(0.1)
            t0 = asyncio.get_running_loop().time()
            await fast.call(call16.Heartbeat())
            took = asyncio.get_running_loop().time() - t0
            await waiting
            return took

    assert run(scenario()) < 0.5


def test_chargelines_own_commands_only_when_allowed(tmp_path: Path, run: Any) -> None:
    async def scenario(allow: bool) -> Any:
        async with upstream_csms() as up, running_server(
                tmp_path / str(allow), upstream=_proxy(up.url, allow_commands=allow)) as cs, \
                ocpp_client(Charger, cs, "CP-C", "ocpp1.6"):
            while "CP-C" not in cs.live:
                await asyncio.sleep(0.01)
            assert cs.desk is not None
            record = await cs.desk.send(CommandRequest("CP-C", "ClearCache", {}, 5.0))
            return record, dict(cs.live["CP-C"].forwarded)

    refused, _ = run(scenario(False))
    assert refused.outcome == CommandOutcome.invalid and "--allow-commands" in refused.reason
    done, forwarded = run(scenario(True))
    assert forwarded == {"to_upstream": 0, "to_charger": 0}
    assert (done.outcome, done.status) == (CommandOutcome.answered, "Accepted")
    frames = journal_frames(tmp_path / "True", "CP-C")
    ours = [f for f in frames if f.message_id == done.command_id]
    assert [(f.direction, f.message_type) for f in ours] == [
        (Direction.outbound, 2), (Direction.inbound, 3)]
    assert [f.direction for f in frames] == [Direction.outbound, Direction.inbound], \
        "our CALL and its answer only: the answer was not forwarded upstream"


def test_a_full_disk_in_proxy_mode(small_disk: Path, run: Any) -> None:
    """The journal fails after a CALL went upstream: the charger gets InternalError, not the
    upstream's answer (what a charger hears answered is stored, as without a proxy). While
    the outage is known, CALLs are refused and not forwarded; space back: forwarded and
    answered again, and the journal holds exactly what the charger was answered."""
    async def scenario() -> tuple[list[Any], list[str]]:
        async with upstream_csms() as up, running_server(
                small_disk, upstream=_proxy(up.url)) as cs, websockets.connect(
                f"ws://127.0.0.1:{cs.port}/ocpp/CP-FULL", subprotocols=["ocpp1.6"]) as ws:
            before = await heartbeat(ws, "before")
            filler = fill(small_disk)
            during = [await heartbeat(ws, f"during-{i}") for i in range(3)]
            filler.unlink()
            await outage_record(small_disk, 5)
            after = await heartbeat(ws, "after")
            return [before, *during, after], list(up.chargers["CP-FULL"].heard)

    answers, heard = run(scenario())
    assert [a[0] for a in answers] == [3, 4, 4, 4, 3]
    assert {a[2] for a in answers[1:4]} == {"InternalError"}
    # the first CALL went upstream before its write failed; the next ones were not sent
    assert heard == ["before", "during-0", "after"]
    frames = journal_frames(small_disk, "CP-FULL")
    assert [(f.direction, f.message_id) for f in frames] == [
        ("in", "before"), ("out", "before"), ("in", "after"), ("out", "after")]
