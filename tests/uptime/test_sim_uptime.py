"""Uptime against the truth: a small simulated fleet with injected downtime (an outage, a
Faulted spell, two dead ports) through the real server (``CentralSystem`` on loopback) and
the real flow (``chargeline replay``, Bytewax), then ``int_port_downtime`` scored against
the simulator's ``downtime`` truth rows (``sim.uptime_score``).

Tolerance: per port, ``TOLERANCE_S`` wall seconds per true down period. The simulator stamps
a period's edges just before it sends (or just after it reconnects and boots), the server
its receive time: milliseconds apart normally, up to ~0.5 s on this shared 2-core machine
under load, per edge. At speed 600 a second is 10 simulated minutes, so the figure printed
is in wall seconds.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from sim.downtime import DEAD_PORT, PORT_FAULTED, PORT_OUTAGE
from sim.fleet import run_plans
from sim.plan import VENDORS, ChargerPlan, SessionPlan
from sim.uptime_score import score_uptime
from warehouse import catalog

ROOT = Path(__file__).resolve().parents[2]
SPEED = 600.0
TOLERANCE_S = 2.0
V16, V201 = (next(v for v in VENDORS if v.name == n) for n in ("alfen", "generic201"))


def plans() -> list[ChargerPlan]:
    """Four sessions each, 10 simulated minutes at 22 kW (~6 Wh at this speed: above the
    views' 1 Wh), 20 simulated minutes apart."""
    sessions = [SessionPlan(60.0 + 1200.0 * i, 600.0, 3666.0, 22_000.0, f"TAG{i}")
                for i in range(4)]
    fleet = [(V16, PORT_OUTAGE, 1), (V201, PORT_FAULTED, 1), (V16, DEAD_PORT, 0),
             (V201, DEAD_PORT, 0), (V16, None, 0)]
    return [ChargerPlan(f"UP-{vendor.name.upper()}-{i}", vendor, 100 + i, (), list(sessions),
                        fault, session) for i, (vendor, fault, session) in enumerate(fleet)]


def run_fleet(data_dir: Path) -> list[dict[str, Any]]:
    from ingest.config import ServerConfig
    from ingest.server import CentralSystem

    async def scenario() -> None:
        async with CentralSystem(ServerConfig(host="127.0.0.1", port=0,
                                              data_dir=data_dir)) as server:
            await run_plans(f"ws://127.0.0.1:{server.port}/ocpp", plans(), 7.5, SPEED,
                            data_dir / "truth.jsonl", settle=1.0)

    asyncio.run(scenario())
    return [orjson.loads(line) for line in (data_dir / "truth.jsonl").read_bytes().splitlines()]


def test_computed_uptime_matches_the_truth(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    truth = run_fleet(data_dir)
    subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir", str(data_dir)],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    catalog.ensure(data_dir)
    with catalog.connect(data_dir) as con:
        ports = con.sql("select * from int_uptime_ports").to_arrow_table().to_pylist()
        segments = con.sql("select * from int_port_downtime").to_arrow_table().to_pylist()
    report = score_uptime(truth, ports, segments)
    print("\nuptime figure:", json.dumps(report, indent=1))
    periods = {p.charge_point_id: 1 + sum(1 for r in truth if r["type"] == "downtime"
                                          and r["charge_point_id"] == p.charge_point_id)
               for p in plans()}
    assert len(report["ports"]) == len(plans())
    for port, got in report["ports"].items():
        cp = port.split("#")[0]
        assert abs(got["evidence_down_s"] - got["truth_down_s"]) <= TOLERANCE_S * periods[cp], \
            (port, got)
    by_cp = {port.split("#")[0]: got for port, got in report["ports"].items()}
    faulted, dead = by_cp["UP-GENERIC201-1"], by_cp["UP-ALFEN-2"]
    assert faulted["truth_down_s"] > 2.5 and faulted["self_reported_down_s"] > 2.5
    assert dead["truth_down_s"] > 3 and dead["self_reported_down_s"] == 0  # says Available
    fleet = report["fleet"]
    assert fleet["self_reported_uptime_pct"] > fleet["evidence_uptime_pct"]
