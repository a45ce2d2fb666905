"""Proxy mode with OCPP 2.1 (and a fleet mixing 1.6 and 2.1 on one proxy): the ``ocpp``
library's v21 ChargePoint as the charger, the same library's v21 ChargePoint serving as the
upstream central system. 2.1's SEND frames (never answered) pass through like any frame and
are journaled as SENDs, not as answers nobody asked for."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from ocpp.routing import on
from ocpp.v16 import call as call16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call, call_result
from ocpp.v21.enums import Action

from canonical.enums import Direction, MessageType, ParseStatus, Protocol
from ingest.upstream import UpstreamConfig
from tests.ingest.conftest import journal_frames, ocpp_client, running_server
from tests.ingest.test_proxy import Charger as Charger16
from tests.ingest.upstream_csms import upstream_csms

WHEN = "2026-03-02T08:00:00.000Z"
STREAM = {"id": 3, "pending": 0, "basetime": WHEN,
          "data": [{"t": i, "v": str(7000 + i)} for i in range(3)]}


class Upstream21(ChargePoint21):
    """The upstream's side of a 2.1 charger; keeps every raw frame it received."""

    heard: list[Any]
    slow_s: float

    async def route_message(self, raw_msg: str | bytes) -> None:
        message = orjson.loads(raw_msg)
        self.heard.append(message)
        if message[0] != 6:  # the library has no SEND: it is only heard
            await super().route_message(raw_msg)  # type: ignore[arg-type]

    @on(Action.boot_notification)
    def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(current_time=WHEN, interval=300, status="Accepted")

    @on(Action.transaction_event)
    def on_event(self, **_: Any) -> call_result.TransactionEvent:
        return call_result.TransactionEvent(id_token_info={"status": "Accepted"})

    @on(Action.heartbeat)
    def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=WHEN)


class Station21(ChargePoint21):
    @on(Action.get_variables)
    def on_get(self, get_variable_data: list[dict[str, Any]]) -> call_result.GetVariables:
        return call_result.GetVariables(get_variable_result=[{
            "attribute_status": "Accepted", "attribute_value": "60",
            "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}])


def test_ocpp21_through_the_proxy_beside_a_16_charger(tmp_path: Path, run: Any) -> None:
    async def scenario() -> tuple[list[Any], Any, list[Any], list[tuple[str, str]], str | None]:
        async with upstream_csms(protocols=("ocpp2.1", "ocpp1.6"),
                                 sides={"ocpp2.1": Upstream21}) as up, \
                running_server(tmp_path, upstream=UpstreamConfig(up.url)) as cs, \
                ocpp_client(Station21, cs, "CP-21P", "ocpp2.1") as (cp, rec), \
                ocpp_client(Charger16, cs, "CP-16P", "ocpp1.6") as (old, _):
            answers = [
                await cp.call(call.BootNotification(
                    charging_station={"model": "V2X-1", "vendor_name": "Lib"}, reason="PowerUp")),
                await cp.call(call.TransactionEvent(
                    event_type="Started", timestamp=WHEN, trigger_reason="Authorized",
                    seq_no=0, transaction_info={"transaction_id": "T21"},
                    id_token={"id_token": "TAG", "type": "ISO14443"})),
                await old.call(call16.Heartbeat()),
            ]
            await rec.send(orjson.dumps([6, "s-1", "NotifyPeriodicEventStream", STREAM]).decode())
            answers.append(await cp.call(call.Heartbeat()))
            got = await up.chargers["CP-21P"].call(call.GetVariables(get_variable_data=[{
                "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]))
            await asyncio.sleep(0.1)
            side = up.chargers["CP-21P"]
            return answers, got, side.heard, rec.log, cs.live["CP-21P"].ws.subprotocol

    answers, got, heard, wire, chosen = run(scenario())
    boot, event, beat16, beat = answers
    assert chosen == "ocpp2.1"
    assert boot.status == "Accepted" and event.id_token_info == {"status": "Accepted"}
    assert beat16.current_time and beat.current_time == WHEN
    assert got.get_variable_result[0]["attribute_value"] == "60"
    assert [m[0] for m in heard] == [2, 2, 6, 2, 3], "the SEND reached the upstream, in order"
    frames = journal_frames(tmp_path, "CP-21P")
    assert [(f.direction, f.raw) for f in frames] == wire, "byte for byte, in order"
    assert {f.protocol for f in frames} == {Protocol.v21}
    assert {f.parse_status for f in frames} == {ParseStatus.ok}
    sends = [f for f in frames if f.message_type == MessageType.send]
    assert [(s.direction, s.action) for s in sends] == [
        (Direction.inbound, "NotifyPeriodicEventStream")]
    assert {f.protocol for f in journal_frames(tmp_path, "CP-16P")} == {Protocol.v16}
