"""The command path against simulated chargers (``sim``, which answer as real chargers do):
uploads through the admin API's one-time slots, a remote start and stop, a reset's reboot —
everything over real wire and read back from the journal."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson

from canonical.enums import Direction
from chargeline.admin_client import AdminClient
from ingest.server import CentralSystem
from sim.charger import SimCharger
from sim.plan import VENDORS, ChargerPlan, SessionPlan
from sim.truth import Truth
from tests.ingest.conftest import journal_frames, running_server

V16, V201 = VENDORS[1], VENDORS[9]  # Alfen (1.6), a plain 2.0.1 station


def _charger(cs: CentralSystem, vendor: Any, name: str, truth: Truth) -> SimCharger:
    later = [SessionPlan(10**9, 1200.0, 16_000.0, 50_000.0, "TAG000001")]
    plan = ChargerPlan(name, vendor, 4242, (), later, None)
    return SimCharger(plan, f"ws://127.0.0.1:{cs.port}/ocpp", 1000.0, truth, time.time_ns())


async def _until(check: Any, timeout: float = 10.0) -> Any:
    for _ in range(int(timeout / 0.05)):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


def _calls(data: Path, cp_id: str, action: str) -> list[dict[str, Any]]:
    return [orjson.loads(f.raw)[3] for f in journal_frames(data, cp_id)
            if f.direction == Direction.inbound and f.message_type == 2 and f.action == action]


def test_uploads_remote_sessions_and_reset_against_simulated_chargers(
        tmp_path: Path, run: Any) -> None:
    data = tmp_path / "data"

    async def scenario() -> dict[str, Any]:
        async with running_server(data, admin_port=0) as cs:
            truth = Truth(tmp_path / "truth.jsonl")
            a, b = _charger(cs, V16, "SIM-16", truth), _charger(cs, V201, "SIM-201", truth)
            await a.connect()
            await b.connect()
            client = AdminClient.of(data)

            def send(cp: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
                return client.send(cp, action, payload, 10.0)

            try:
                diag = await asyncio.to_thread(send, "SIM-16", "GetDiagnostics", {
                    "location": await asyncio.to_thread(client.upload_slot, "SIM-16")})
                log = await asyncio.to_thread(send, "SIM-201", "GetLog", {
                    "logType": "DiagnosticsLog", "requestId": 7, "log": {
                        "remoteLocation": await asyncio.to_thread(client.upload_slot,
                                                                  "SIM-201")}})
                await _until(lambda: list((data / "uploads").rglob("*")) and len(
                    [p for p in (data / "uploads").rglob("*") if p.is_file()]) == 2)
                start = await asyncio.to_thread(send, "SIM-16", "RemoteStartTransaction",
                                                {"idTag": "OPERATOR1", "connectorId": 1})
                started = await _until(lambda: _calls(data, "SIM-16", "StartTransaction"))
                await asyncio.sleep(0.3)
                tx_id = next(orjson.loads(f.raw)[2]["transactionId"]
                             for f in journal_frames(data, "SIM-16")
                             if f.action == "StartTransaction" and f.message_type == 3)
                stop = await asyncio.to_thread(send, "SIM-16", "RemoteStopTransaction",
                                               {"transactionId": tx_id})
                stopped = await _until(lambda: _calls(data, "SIM-16", "StopTransaction"))
                boots = len(_calls(data, "SIM-201", "BootNotification"))
                reset = await asyncio.to_thread(send, "SIM-201", "Reset", {"type": "Immediate"})
                await _until(lambda: len(_calls(data, "SIM-201", "BootNotification")) > boots)
                return {"diag": diag, "log": log, "start": start, "stop": stop,
                        "started": started, "stopped": stopped, "reset": reset}
            finally:
                for c in (a, b):
                    for task in list(c.tasks):
                        task.cancel()
                    await c.disconnect()

    out = run(scenario())
    assert out["diag"]["outcome"] == "answered" and out["diag"]["answer"]["fileName"]
    assert (out["log"]["status"], out["start"]["status"], out["stop"]["status"],
            out["reset"]["status"]) == ("Accepted",) * 4
    uploaded = sorted(p.parent.name for p in (data / "uploads").rglob("*") if p.is_file())
    assert uploaded == ["SIM-16", "SIM-201"]
    assert [s["status"] for s in _calls(data, "SIM-16", "DiagnosticsStatusNotification")][-1] \
        == "Uploaded"
    assert [s["status"] for s in _calls(data, "SIM-201", "LogStatusNotification")][-1] \
        == "Uploaded"
    assert out["started"][0]["idTag"] == "OPERATOR1"
    assert out["stopped"][0]["reason"] == "Remote"
