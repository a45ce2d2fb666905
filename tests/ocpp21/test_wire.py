"""OCPP 2.1 over real wire: a real server, the ``ocpp`` library's v21 ChargePoint (which
nobody here wrote, and which checks every answer against the 2.1 schemas itself) as the
charger; SEND frames written by hand (the library has none); everything read back from the
journal."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import websockets
from ocpp.routing import on
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call, call_result
from ocpp.v21.enums import Action

from canonical.commands import CommandOutcome
from canonical.enums import Direction, MessageType, ParseStatus, Protocol
from ingest.commands import CommandRequest
from ingest.server import CentralSystem
from tests.ingest.conftest import journal_frames, ocpp_client, running_server

WHEN = "2026-03-02T08:00:00.000Z"
STREAM = {"id": 3, "pending": 0, "basetime": WHEN,
          "data": [{"t": i, "v": str(7000 + i)} for i in range(60)]}


class Library21(ChargePoint21):
    """A 2.1 station of the ``ocpp`` library answering two of 2.1's new CSMS actions."""

    @on(Action.change_transaction_tariff)
    def on_tariff(self, tariff: dict[str, Any], transaction_id: str,
                  **_: Any) -> call_result.ChangeTransactionTariff:
        return call_result.ChangeTransactionTariff(status="Accepted")

    @on(Action.request_battery_swap)
    def on_swap(self, id_token: dict[str, Any], request_id: int,
                **_: Any) -> call_result.RequestBatterySwap:
        return call_result.RequestBatterySwap(status="Accepted")


async def _until_connected(cs: CentralSystem, cp_id: str) -> None:
    for _ in range(500):
        if cp_id in cs.live:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{cp_id} never connected")


def test_ocpp21_is_negotiated_beside_the_older_versions(tmp_path: Path) -> None:
    async def scenario() -> list[str | None]:
        chosen = []
        async with running_server(tmp_path) as cs:
            for offered in (["ocpp1.6", "ocpp2.0.1", "ocpp2.1"], ["ocpp2.1"], ["ocpp2.0.1"]):
                url = f"ws://127.0.0.1:{cs.port}/ocpp/CP-NEG"
                async with websockets.connect(url, subprotocols=offered) as ws:  # type: ignore[arg-type]
                    chosen.append(ws.subprotocol)
        return chosen

    assert asyncio.run(scenario()) == ["ocpp2.1", "ocpp2.1", "ocpp2.0.1"]


def test_a_library_21_station_is_answered_journaled_and_commanded(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[Any], list[Any]]:
        async with running_server(tmp_path) as cs, \
                ocpp_client(Library21, cs, "CP-21", "ocpp2.1") as (cp, rec):
            answers = [
                await cp.call(call.BootNotification(
                    charging_station={"model": "V2X-1", "vendor_name": "Lib"}, reason="PowerUp")),
                await cp.call(call.TransactionEvent(
                    event_type="Started", timestamp=WHEN, trigger_reason="TariffChanged",
                    seq_no=0, transaction_info={"transaction_id": "T1", "tariff_id": "AC-1"},
                    id_token={"id_token": "TAG", "type": "ISO14443"},
                    cost_details={"total_cost": {"currency": "EUR", "type_of_cost": "NormalCost",
                                                 "total": {"incl_tax": 1.5}},
                                  "total_usage": {"energy": 0, "charging_time": 0,
                                                  "idle_time": 0}})),
                await cp.call(call.NotifySettlement(
                    psp_ref="PSP-9", status="Settled", settlement_amount=12.5,
                    settlement_time=WHEN, transaction_id="T1")),
                await cp.call(call.VatNumberValidation(vat_number="NL123")),
            ]
            await rec.send(orjson.dumps([6, "s-1", "NotifyPeriodicEventStream", STREAM]).decode())
            await rec.send(orjson.dumps([6, "s-2", "NoSuchStream", {}]).decode())
            answers.append(await cp.call(call.Heartbeat()))
            await _until_connected(cs, "CP-21")
            assert cs.desk is not None
            commands = [await cs.desk.send(CommandRequest("CP-21", action, payload, 5.0))
                        for action, payload in (
                            ("ChangeTransactionTariff", {"transactionId": "T1", "tariff": {
                                "tariffId": "AC-2", "currency": "EUR"}}),
                            ("RequestBatterySwap", {"requestId": 1, "idToken": {
                                "idToken": "TAG", "type": "ISO14443"}}),
                            ("RequestBatterySwap", {"requestId": "one"}))]
        return answers, commands

    answers, commands = asyncio.run(scenario())
    boot, event, settlement, vat, heartbeat = answers
    assert boot.status == "Accepted" and boot.current_time.endswith("Z")
    assert event.id_token_info == {"status": "Accepted"}
    assert settlement.receipt_url is None and vat.status == "Rejected" and heartbeat.current_time
    assert [c.outcome for c in commands] == [
        CommandOutcome.answered, CommandOutcome.answered, CommandOutcome.invalid]
    assert [c.status for c in commands[:2]] == ["Accepted", "Accepted"]
    frames = journal_frames(tmp_path, "CP-21")
    assert {f.protocol for f in frames} == {Protocol.v21}
    sends = [f for f in frames if f.message_type == MessageType.send]
    assert [(s.action, s.parse_status) for s in sends] == [
        ("NotifyPeriodicEventStream", ParseStatus.ok), ("NoSuchStream", ParseStatus.unknown_action)]
    answered = {f.message_id for f in frames if f.direction == Direction.outbound}
    assert not answered & {"s-1", "s-2"}  # a SEND is never answered, even an unknown one
    calls_in = [f.action for f in frames if f.direction == Direction.inbound
                and f.message_type == MessageType.call]
    assert calls_in == ["BootNotification", "TransactionEvent", "NotifySettlement",
                        "VatNumberValidation", "Heartbeat"]
