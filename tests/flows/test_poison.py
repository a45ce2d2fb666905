"""No frame can stop the pipeline, and no knock or charger-chosen id can grow its state.

Hostile frames go through the flow's stateful step and the warehouse write (the place a
lone surrogate used to kill ``chargeline replay`` for good); what cannot be processed is
quarantined (events table, ``quarantine`` view, ``quarantined_frame`` alert) and everything
after it flows. The end-to-end run is a real ``chargeline replay`` of a real journal.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canonical import RawFrame, to_batch
from canonical.enums import ParseStatus, RecordKind
from canonical.events import CanonicalEvent
from flows import shard
from flows.charger import ChargerPipeline, Output
from flows.config import FlowConfig
from flows.shard import ShardLogic
from ingest.journal.writer import JournalWriter
from tests.adapters.test_normalizer import frame_factory
from warehouse.catalog import connect
from warehouse.writer import WarehouseWriter

HOSTILE = ['"\\ud800"', '"\\udfff x"', "1e400", "-1e400", "NaN", str(2**70), '"' + "A" * 2**20 + '"',
           "[" * 200 + "]" * 200, '"\\u0000"', '"=cmd|\' /C calc\'!A0"', "{}", "null"]
START = '[2,"{m}","StartTransaction",{{"connectorId":1,"idTag":{v},"meterStart":{v},' \
        '"timestamp":"2026-01-01T10:00:00Z"}}]'
METER = '[2,"{m}","MeterValues",{{"connectorId":{v},"transactionId":7,"meterValue":[' \
        '{{"timestamp":{v},"sampledValue":[{{"value":{v},"measurand":{v}}}]}}]}}]'
EVENT = '[2,"{m}","TransactionEvent",{{"eventType":"Started","seqNo":{v},"timestamp":' \
        '"2026-01-01T10:00:00Z","transactionInfo":{{"transactionId":{v}}},"evse":{{"id":{v}}},' \
        '"idToken":{{"idToken":{v},"type":"ISO14443"}}}}]'
ACTION = {START: "StartTransaction", METER: "MeterValues", EVENT: "TransactionEvent"}
GOOD = [2, "good", "StartTransaction", {"connectorId": 1, "idTag": "T", "meterStart": 10,
                                        "timestamp": "2026-01-01T10:00:00Z"}]


def _through_the_step(frames: list[RawFrame]) -> list[tuple[str, pa.RecordBatch]]:
    logic = ShardLogic(FlowConfig(), None)
    out, _ = logic.on_item(("frames", pa.Table.from_batches([to_batch(RawFrame, frames)]),
                            frames[-1].received_at))
    return [*out, *logic.on_eof()[0]]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([START, METER, EVENT]), st.sampled_from(HOSTILE)),
                min_size=1, max_size=4))
def test_hostile_frames_pass_the_step_and_the_warehouse_write(
        tmp_path_factory: pytest.TempPathFactory, calls: list[tuple[str, str]]) -> None:
    frames = []
    for i, (shape, value) in enumerate(calls):
        protocol = "ocpp2.0.1" if shape is EVENT else "ocpp1.6"
        frames += [frame_factory(2 * i + 1, shape.format(m=f"m{i}", v=value), at_s=i,
                                 protocol=protocol).replace(  # journaled as ok (older ingest)
                       message_type=2, message_id=f"m{i}", action=ACTION[shape]),
                   frame_factory(2 * i + 2, [3, f"m{i}", {"transactionId": 7}], at_s=i,
                                 protocol=protocol, direction="out")]
    after = len(frames) + 1
    frames.append(frame_factory(after, [2, "hb", "Heartbeat", {}], at_s=after))
    out = _through_the_step(frames)
    writer = WarehouseWriter(tmp_path_factory.mktemp("wh"), durable=False)
    for table, batch in out:
        writer.write(table, pa.Table.from_batches([batch]))
    events = [e for t, b in out if t == "events" for e in b.to_pylist()]
    calls_in = {f.frame_id for f in frames if f.direction == "in"}
    assert calls_in <= {e["frame_id"] for e in events}  # an event or a quarantine, never none
    assert ("heartbeat", after) in {(e["event_type"], e["frame_id"]) for e in events}


def test_an_unwritable_record_is_quarantined_and_its_batch_still_written() -> None:
    good = CanonicalEvent("1:0", "heartbeat", 1, "CP-1", "ocpp1.6", "generic", 10)
    bad = CanonicalEvent("2:0", "authorization", 2, "CP-1", "ocpp1.6", "generic", 20,
                         id_tag="\ud800")  # no Arrow string holds it
    packed = shard._packed("events", [good, bad])
    written = [e["event_id"] for t, b in packed if t == "events" for e in b.to_pylist()]
    alerts = [a["kind"] for t, b in packed if t == "alerts" for a in b.to_pylist()]
    assert "1:0" in written and "2:0" not in written
    assert any(e.startswith("2:quarantine:unwritable_CanonicalEvent") for e in written)
    assert alerts == ["quarantined_frame"]


def test_a_frame_whose_processing_raises_is_quarantined_and_the_next_flows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: an unforeseen bug in a charger's pipeline on one frame."""
    real = ChargerPipeline.apply

    def apply(self: ChargerPipeline, frame: RawFrame, out: object) -> None:
        if frame.message_id == "poison":
            raise RuntimeError("a bug this frame found")
        real(self, frame, out)  # type: ignore[arg-type]
    monkeypatch.setattr(ChargerPipeline, "apply", apply)
    frames = [frame_factory(1, [2, "poison", "Heartbeat", {}]),
              frame_factory(2, GOOD, at_s=1),
              frame_factory(3, [3, "good", {"transactionId": 7, "idTagInfo": {
                  "status": "Accepted"}}], direction="out", at_s=1)]
    out = _through_the_step(frames)
    rows = {t: [r for _, b in out if _ == t for r in b.to_pylist()] for t in ("events", "alerts")}
    (q,) = [e for e in rows["events"] if e["event_type"] == "quarantine"]
    assert (q["frame_id"], q["quarantine_reason"]) == (1, "pipeline_error")
    assert "RuntimeError: a bug this frame found" in q["detail"]
    assert [a["kind"] for a in rows["alerts"]] == ["quarantined_frame"]
    assert any(e["event_type"] == "transaction_started" for e in rows["events"])


def test_knocks_that_never_got_in_create_no_charger_state() -> None:
    knocks = [frame_factory(i, '{"reason":"bad password"}', direction="",
                            kind=RecordKind.auth_failed, at_s=i).replace(
                                charge_point_id=f"KNOCK-{i}") for i in range(1, 2001)]
    logic = ShardLogic(FlowConfig(), None)
    logic.on_item(("frames", pa.Table.from_batches([to_batch(RawFrame, knocks)]), 0))
    logic.on_item(("tick", None, knocks[-1].received_at + 600 * 10**9))
    assert logic.chargers == {}


def _statuses(first: int, count: int) -> list[RawFrame]:
    return [frame_factory(first + i, [2, f"s{i}", "StatusNotification", {
        "connectorId": first + i, "errorCode": "NoError", "status": "Available"}], at_s=i)
        for i in range(count)]


def test_a_charger_choosing_new_connector_ids_does_not_grow_its_state() -> None:
    pipeline = ChargerPipeline("CP-1", FlowConfig())
    for frame in _statuses(1, 2_000):
        pipeline.apply(frame, Output())
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for frame in _statuses(10_001, 20_000):
        pipeline.apply(frame, Output())
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 200_000, f"{grown} bytes for 20,000 more connector ids"


def test_replay_of_a_journal_with_poison_frames_completes(tmp_path: Path) -> None:
    """The frame that stopped replay for good (1e400 made the ingest read it with the standard
    library, which admitted the lone surrogate: journaled as ok), as older journals hold it;
    a lone surrogate judged not JSON, as the ingest journals it now; JSON the adapters must
    read (1e400, 2^70) or refuse (NaN)."""
    killer = '[2,"p9","StartTransaction",{"connectorId":1,"idTag":"\\ud800","meterStart":' \
             '1e400,"timestamp":"2026-01-01T10:00:00Z"}]'
    frames = [frame_factory(0, killer).replace(message_type=2, message_id="p9",
                                               action="StartTransaction"),
              frame_factory(0, START.format(m="p0", v='"\\ud800"'),
                            status=ParseStatus.invalid_json)]
    frames += [frame_factory(0, START.format(m=f"p{i}", v=v), at_s=i).replace(
        message_type=2, message_id=f"p{i}", action="StartTransaction")
        for i, v in enumerate(("1e400", str(2**70), "NaN"), start=1)]
    frames += [frame_factory(0, GOOD, at_s=10),
               frame_factory(0, [3, "good", {"transactionId": 7, "idTagInfo": {
                   "status": "Accepted"}}], direction="out", at_s=10)]
    with JournalWriter(tmp_path) as journal:
        journal.write(frames)
    done = subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir",
                           str(tmp_path)], check=False, capture_output=True, timeout=180)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    with connect(tmp_path) as db:
        quarantined = db.execute("select frame_id, quarantine_reason from quarantine").fetchall()
        sessions = db.execute("select transaction_id, meter_start_wh from sessions").fetchall()
    assert quarantined and ("7", 10.0) in sessions
    assert json.dumps(quarantined)  # plain text, printable
