"""A fleet mixing OCPP 1.6, 2.0.1 and 2.1 stations (the 2.1 ones streaming power, settling
ad-hoc payments, one of them V2X) against the real server, replayed through the real flow,
scored against the simulator's truth: every session found, billed energy within 1 % per
version (a V2X station's export billed as import would be +50 %)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import orjson

from canonical.enums import MessageType
from canonical.raw import RawFrame
from ingest.config import ServerConfig
from ingest.journal import JournalReader
from ingest.server import CentralSystem
from sim.fleet import run_fleet

VENDORS = "alfen,generic201,generic21,bidi21"


def test_a_three_version_fleet_is_billed_right_per_version(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with CentralSystem(ServerConfig(host="127.0.0.1", port=0,
                                              data_dir=tmp_path)) as server:
            await run_fleet(f"ws://127.0.0.1:{server.port}/ocpp", 8, 8.0, 11,
                            "duplicate_stop,phantom_transaction", 2000.0,
                            tmp_path / "truth.jsonl", settle=2.0, vendors=VENDORS)

    asyncio.run(scenario())
    frames = JournalReader(tmp_path).frames()
    assert {f.protocol for f in frames if f.protocol} == {"ocpp1.6", "ocpp2.0.1", "ocpp2.1"}
    streams = [f for f in frames if f.message_type == MessageType.send]
    assert streams and {f.action for f in streams} == {"NotifyPeriodicEventStream"}
    def key(f: RawFrame) -> tuple[str, str, str | None]:
        return f.charge_point_id, f.connection_id, f.message_id

    assert not {key(f) for f in streams} & {
        key(f) for f in frames if f.direction == "out" and f.message_type != MessageType.call}
    assert any(f.action == "NotifySettlement" for f in frames)
    assert any("Energy.Active.Export.Register" in f.raw for f in frames)
    truth = [orjson.loads(line) for line in (tmp_path / "truth.jsonl").read_bytes().splitlines()]
    sessions = [t for t in truth if t["type"] == "session"]
    subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir", str(tmp_path)],
                   check=True, capture_output=True, timeout=120)
    out = subprocess.run([sys.executable, "-m", "chargeline", "score", "--data-dir",
                          str(tmp_path), "--truth", str(tmp_path / "truth.jsonl"), "--json"],
                         check=True, capture_output=True, timeout=60, text=True)
    report = json.loads(out.stdout)
    print(json.dumps({"detectors": report["detectors"], "protocols": report["protocols"]}))
    assert report["sessions"]["matched"] == report["sessions"]["expected"] == len(sessions)
    assert set(report["protocols"]) == {"ocpp1.6", "ocpp2.0.1", "ocpp2.1"}
    for version, figures in report["protocols"].items():
        assert figures["sessions"]["matched"] == figures["sessions"]["expected"] > 0, version
        assert abs(figures["energy_error_pct"]) < 1.0, (version, figures)
    assert report["billing"]["protocols"]["ocpp2.1"]["billed_twice"] == 0
