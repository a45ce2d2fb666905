"""Two ingest nodes and a 2-process flow on Kafka (a real Tansu broker), a fleet behind a
sticky balancer, kill -9 of one ingest node and of one flow process mid-run: every answered
CALL is in the topic, no start got two ids, the billed energy is the chargers' own, and
sessions, alerts and energy equal what one node's file journal gives for the same records.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from canonical import RawFrame
from canonical.enums import RecordKind
from ingest.journal import JournalWriter
from tests.broker import Broker, read_topic
from tests.flows.test_flow_runs import SESSION_COLUMNS
from tests.reliability.balancer import StickyBalancer
from tests.reliability.conftest import CLI, Process, ProcessFactory
from tests.reliability.figures import report
from tests.reliability.fleet import RetryingCharger, make_fleet
from tests.reliability.test_crash import (
    assert_alerts_only_from_the_crashes,
    assert_sessions_match_truth,
)
from warehouse.catalog import connect

CHARGERS = 20


def answers(data: Path) -> dict[str, Any]:
    """What a user reads, frame ids left out (they are Kafka positions on one side)."""
    with connect(data) as db:
        return {
            "sessions": db.execute(f"select {SESSION_COLUMNS} from sessions order by 1").fetchall(),
            "energy_wh": db.execute("select sum(energy_wh) from sessions").fetchone(),
            "alerts": sorted(db.execute("select kind, charge_point_id, session_id, value "
                                        "from alerts").fetchall(), key=str),
            "frames": db.execute("select count(*) from frames").fetchone(),
            "events": db.execute("select count(distinct event_id) from events").fetchone(),
        }


def flow_members(flow: Process, count: int = 2) -> list[int]:
    """The pids of the flow's cluster members (waiting for them to be started)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{flow.pid}/task/{flow.pid}/children").read_text().split()
        if len(children) >= count:
            return [int(pid) for pid in children]
        time.sleep(0.1)
    raise AssertionError(f"the flow started {children} members, not {count}")


def kill_one_flow_member(flow: Process) -> float:
    """kill -9 one process of the flow's cluster: ``chargeline flow`` stops the other and
    exits (as a supervisor sees it), and is started again. Seconds until it is."""
    t0 = time.monotonic()
    members = flow_members(flow)
    os.kill(members[-1], signal.SIGKILL)
    assert flow.proc is not None
    flow.proc.wait(15)  # it stopped the member left waiting for its dead peer
    flow.start()
    return time.monotonic() - t0


async def drive(fleet: list[RetryingCharger], node: Process, flow: Process,
                seed: int) -> dict[str, float]:
    rng, stop = random.Random(seed), asyncio.Event()
    tasks = [asyncio.create_task(c.run(stop, pace_s=0.02)) for c in fleet]
    await asyncio.sleep(rng.uniform(0.5, 1.5))
    await asyncio.to_thread(node.kill9)
    await asyncio.sleep(rng.uniform(0.5, 1.5))
    flow_s = await asyncio.to_thread(kill_one_flow_member, flow)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(node.start)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    return {"flow_restart_s": round(flow_s, 2)}


def assert_answered_in_topic(records: list[RawFrame], fleet: list[RetryingCharger]) -> int:
    by_call: dict[tuple[str, str], list[RawFrame]] = defaultdict(list)
    for r in records:
        if r.record_kind == RecordKind.frame and r.message_id:
            by_call[(r.charge_point_id, r.message_id)].append(r)
    missing = [(c.charge_point_id, mid) for c in fleet for mid, _ in c.answered
               if not any(r.direction == "in" for r in by_call.get((c.charge_point_id, mid), []))]
    assert missing == []
    twice = 0
    for calls in by_call.values():
        ids = {orjson.loads(r.raw)[2].get("transactionId") for r in calls
               if r.direction == "out" and r.message_type == 3 and r.action == "StartTransaction"}
        assert len(ids) <= 1, f"one start, two transaction ids: {ids}"
        twice += sum(r.direction == "in" for r in calls) > 1
    for c in fleet:
        assert all(len(ids) == 1 for ids in c.starts.values()), c.starts
    return twice


def caught_up(data: Path, frames: int, timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if answers(data)["frames"][0] >= frames:
                time.sleep(2.5)  # a tick more: the last findings are flushed
                return answers(data)
        except Exception:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the flow did not reach {frames} records")


def one_node_journal(records: list[RawFrame], data: Path) -> None:
    """The same records in one node's file journal, in the order they were received."""
    ordered = sorted(records, key=lambda r: (r.received_at, r.frame_id))
    with JournalWriter(data) as writer:
        for i in range(0, len(ordered), 1000):
            writer.append(ordered[i:i + 1000])


def test_two_ingest_nodes_and_two_flow_processes_on_kafka_answer_as_one_node(
        tmp_path: Path, broker: Broker, server_factory: Any,
        process_factory: ProcessFactory) -> None:
    journal = broker.journal("fleet")
    nodes = [server_factory(tmp_path / f"node{n}", "--journal", journal, "--node-id", str(n),
                            "--no-admin") for n in (1, 2)]
    live = tmp_path / "live"
    flow = process_factory(["flow", "--data-dir", str(live), "--journal", journal,
                            "--processes", "2", "--snapshot-interval", "0.5"]).start()

    async def scenario() -> tuple[list[RetryingCharger], dict[str, float], Counter[int]]:
        balancer = StickyBalancer([n.port for n in nodes if n.port is not None])
        port = await balancer.start()
        fleet = make_fleet(f"ws://127.0.0.1:{port}/ocpp", CHARGERS, seed=7)
        figures = await drive(fleet, nodes[0], flow, seed=13)
        await balancer.stop()
        return fleet, figures, Counter(port for _, port in balancer.routes)

    fleet, figures, routed = asyncio.run(scenario())
    for node in nodes:
        node.stop()
    records = read_topic(broker, "fleet")
    twice = assert_answered_in_topic(records, fleet)
    on_kafka = caught_up(live, len(records))
    flow.stop()
    reference = tmp_path / "one-node"
    one_node_journal(records, reference)
    subprocess.run([*CLI, "replay", "--data-dir", str(reference)], check=True,
                   capture_output=True, timeout=180)
    assert on_kafka == answers(reference)
    billed = assert_sessions_match_truth(live, fleet)
    assert_alerts_only_from_the_crashes(billed["alerts"], twice)
    moved = sum(1 for c in fleet if c.reconnects)
    assert moved > 0 and len(routed) == 2, routed  # both nodes served; the kill moved some
    report("test_two_ingest_nodes_and_two_flow_processes_on_kafka_answer_as_one_node",
           chargers=CHARGERS, records=len(records), journaled_twice=twice,
           chargers_reconnected=moved, connections_per_node=sorted(routed.values()),
           **figures, **billed)
