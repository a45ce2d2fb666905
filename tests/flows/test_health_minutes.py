"""A charger's health minutes are the same replayed as live.

Live, the flow's source hands on frames every ~0.3 s and ticks every second of wall clock;
replaying, it hands on up to 20,000 frames at once, with frame times as its clock. A minute's
row must not depend on that: its counters are the frames received in that minute (server
time), its state (online, drift, sessions running, power) is the charger's at the minute's
end, timers included (a session stuck 2 s after a minute's end ran in that minute). Here
the real source partition reads a real journal both ways — live with a simulated
wall clock, frames journaled as their receive time passes — and every ``charger_health`` row
the two write is compared whole, with the fast path on and off.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow.compute as pc
import pytest

from canonical import RawFrame
from canonical.enums import ParseStatus, RecordKind
from flows.config import FlowConfig
from flows.shard import ShardLogic, split_by_shard
from flows.source import JournalSource
from ingest.journal import JournalReader, JournalWriter
from tests.flows.traffic import S

T0 = 1_767_261_607 * S  # 2026-01-01T10:00:07Z: minutes do not start with the traffic
MS = S // 1000
MINUTE = 60 * S
STUCK_AFTER_S = 125.0


def _at(t_s: float) -> str:
    """Charger time ``t_s`` after T0, 3 s behind the server (the drift estimate)."""
    ms = (T0 // MS) + int(t_s * 1000) - 3000
    seconds, rest = divmod(ms, 1000)
    minutes, second = divmod(seconds % 86_400, 60)
    return f"2026-01-01T{minutes // 60:02d}:{minutes % 60:02d}:{second:02d}.{rest:03d}Z"


def _charger(cp: str, offset_s: float, beat_s: float) -> Iterator[tuple[float, str, Any]]:
    """(seconds after T0, direction, frame) of one charger: a boot, heartbeats and their
    answers, a session with samples, a CALL of ours answered, a drop and a reconnect."""
    yield offset_s, "", {"connected": {}}
    yield offset_s + 0.5, "in", [2, f"{cp}b", "BootNotification",
                                 {"chargePointVendor": "V", "chargePointModel": "M"}]
    yield offset_s + 0.6, "out", [3, f"{cp}b", {"status": "Accepted", "interval": 60,
                                                "currentTime": _at(offset_s)}]
    for k in range(int(420 / beat_s)):
        at = offset_s + 2 + k * beat_s
        if 230 <= at < 262:  # dropped: the reconnect's first message is a heartbeat
            continue
        yield at, "in", [2, f"{cp}h{k}", "Heartbeat", {}]
        yield at + 0.04, "out", [3, f"{cp}h{k}", {"currentTime": _at(at)}]
    yield offset_s + 3, "in", [2, f"{cp}s0", "StatusNotification", {
        "connectorId": 1, "status": "Available", "errorCode": "NoError",
        "timestamp": _at(offset_s + 3)}]
    yield 70, "in", [2, f"{cp}st", "StartTransaction", {
        "connectorId": 1, "idTag": "T", "meterStart": 1000, "timestamp": _at(70)}]
    yield 70.1, "out", [3, f"{cp}st", {"transactionId": 7, "idTagInfo": {"status": "Accepted"}}]
    for k in range(8):
        at = 80 + 20 * k
        yield at, "in", [2, f"{cp}m{k}", "MeterValues", {
            "connectorId": 1, "transactionId": 7, "meterValue": [{"timestamp": _at(at),
            "sampledValue": [{"value": str(1000 + 100 * k), "measurand":
                              "Energy.Active.Import.Register", "unit": "Wh"},
                             {"value": "7000", "measurand": "Power.Active.Import",
                              "unit": "W"}]}]}]
    yield 131, "out", [2, f"{cp}tm", "TriggerMessage", {"requestedMessage": "Heartbeat"}]
    yield 131.3, "in", [3, f"{cp}tm", {"status": "Accepted"}]
    yield 240, "in", [2, f"{cp}sp", "StopTransaction", {
        "transactionId": 7, "meterStop": 1900, "timestamp": _at(240)}]
    yield 240.1, "out", [3, f"{cp}sp", {"idTagInfo": {"status": "Accepted"}}]
    yield 245, "", {"disconnected": {"code": 1006}}
    yield 262, "", {"connected": {}}


def _gone(cp: str) -> Iterator[tuple[float, str, Any]]:
    """A charger that drops mid-session: the session is stuck ``STUCK_AFTER_S`` after the
    drop, 2 s after a minute's end (10:03:02): that minute's row still counts it running."""
    yield 10, "", {"connected": {}}
    yield 20, "in", [2, f"{cp}st", "StartTransaction", {
        "connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": _at(20)}]
    yield 20.1, "out", [3, f"{cp}st", {"transactionId": 9, "idTagInfo": {"status": "Accepted"}}]
    yield 50, "", {"disconnected": {"code": 1006}}


def _frames() -> list[RawFrame]:
    traffic = [("CP-A", _charger("CP-A", 0, 15)), ("CP-B", _charger("CP-B", 5, 25)),
               ("CP-C", _gone("CP-C"))]
    rows = sorted((at, i, cp, d, f) for cp, frames in traffic
                  for i, (at, d, f) in enumerate(frames))
    return [_record(cp, T0 + int(at * S), direction, frame)
            for at, _, cp, direction, frame in rows]


def _record(cp: str, at: int, direction: str, frame: Any) -> RawFrame:
    if isinstance(frame, dict):  # a connection record
        ((kind, info),) = frame.items()
        return RawFrame(0, at, cp, f"{cp}-c", "ocpp1.6", "", kind, None, None, None,
                        orjson.dumps(info).decode(), ParseStatus.ok)
    action = frame[2] if frame[0] == 2 else None
    return RawFrame(0, at, cp, f"{cp}-c", "ocpp1.6", direction, RecordKind.frame, frame[0],
                    frame[1], action, orjson.dumps(frame).decode(), ParseStatus.ok)


class _Flow:
    """The flow's shard steps fed from a source partition: the rows they write."""

    def __init__(self, fast: bool) -> None:
        self.shards: dict[str, ShardLogic] = {}
        self.fast = fast
        self.rows: list[dict[str, Any]] = []

    def feed(self, item: tuple[str, Any, int]) -> None:
        for key, value in split_by_shard(item):
            if key not in self.shards:
                self.shards[key] = ShardLogic(FlowConfig(stuck_after_s=STUCK_AFTER_S), None)
                self.shards[key].fast = self.fast
            self._keep(self.shards[key].on_item(value)[0])

    def end(self) -> list[dict[str, Any]]:
        for logic in self.shards.values():
            self._keep(logic.on_eof()[0])
        return sorted(self.rows, key=lambda r: (r["charge_point_id"], r["minute"]))

    def _keep(self, out: Any) -> None:
        self.rows += [r for name, batch in out if name == "charger_health"
                      for r in batch.to_pylist()]


def _live(data_dir: Path, frames: list[RawFrame], fast: bool, until: int) -> list[dict[str, Any]]:
    """Frames journaled 30 ms after their receive time; the source polled every 100 ms of
    a simulated wall clock, which runs on to ``until``."""
    wall = [frames[0].received_at]
    source = JournalSource(lambda after: JournalReader(data_dir, after=after), follow=True,
                           clock=lambda: wall[0])
    partition = source.build_part("flow", "journal", None)
    flow, waiting = _Flow(fast), deque(frames)
    with JournalWriter(data_dir, fsync=False) as writer:
        while wall[0] < until:
            due = []
            while waiting and waiting[0].received_at + 30 * MS <= wall[0]:
                due.append(waiting.popleft())
            if due:
                writer.append(due)
            for item in partition.next_batch():
                flow.feed(item)
            wall[0] += 100 * MS
    return flow.end()


def _replay(data_dir: Path, fast: bool) -> list[dict[str, Any]]:
    partition = JournalSource(lambda after: JournalReader(data_dir, after=after),
                              follow=False).build_part("flow", "journal", None)
    flow = _Flow(fast)
    try:
        while True:
            for item in partition.next_batch():
                flow.feed(item)
    except StopIteration:
        return flow.end()


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "full-path"])
def test_replayed_health_minutes_are_the_live_ones(tmp_path: Path, fast: bool) -> None:
    frames = _frames()
    live = _live(tmp_path, frames, fast, until=frames[-1].received_at + 3 * MINUTE)
    replayed = _replay(tmp_path, fast)
    # the replay stops at the journal's end, live goes on: the minutes both closed
    closed = {(r["charge_point_id"], r["minute"]) for r in replayed}
    assert len(closed) >= 10 and len(live) > len(replayed)
    assert [r for r in live if (r["charge_point_id"], r["minute"]) in closed] == replayed
    # what an operator reads: each minute's heartbeats are that minute's Heartbeat CALLs
    journal = JournalReader(tmp_path).read_all()
    beats = journal.filter(pc.and_(pc.equal(journal["action"], "Heartbeat"),
                                   pc.equal(journal["message_type"], 2)))
    per_minute = Counter((cp, at - at % MINUTE) for cp, at in zip(
        beats["charge_point_id"].to_pylist(),
        beats["received_at"].cast("int64").to_pylist(), strict=True))
    assert [r["heartbeats"] for r in replayed] == [
        per_minute[(r["charge_point_id"], _ns(r["minute"]))] for r in replayed]
    stuck = [r["sessions_active"] for r in replayed if r["charge_point_id"] == "CP-C"]
    assert stuck[:4] == [1, 1, 1, 0]  # 10:00 to 10:02 running, stuck at 10:03:02


def _ns(value: Any) -> int:
    return int(value.timestamp()) * S
