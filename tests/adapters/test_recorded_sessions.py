"""The session fixtures (Q29-Q34, a recorded sample): what the adapters hand the flows.

Each ``tests/data/frames/<case>/`` holds ``frames.jsonl`` and ``expected.json``, the sessions a
correct central system concludes. The flows are tested against them elsewhere; here the
adapters must already carry what those conclusions rest on: every transaction of the expected
sessions (and no other), its start and first-stop registers whose delta is the expected energy,
and the fields (refusal status, seqNo, offline) that tell a real event from a misleading one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from canonical.events import CanonicalEvent
from tests.adapters.conftest import FRAMES, normalize_trace, of_type

CASES = sorted(p.parent.name for p in FRAMES.glob("*/expected.json"))


def expected(case: str) -> dict[str, Any]:
    return dict(json.loads((FRAMES / case / "expected.json").read_text()))


def by_transaction(events: list[CanonicalEvent], kind: str) -> dict[tuple[str, str], list[
        CanonicalEvent]]:
    out: dict[tuple[str, str], list[CanonicalEvent]] = {}
    for event in of_type(events, kind):
        if event.transaction_key is not None:
            out.setdefault((event.charge_point_id, event.transaction_key), []).append(event)
    return out


def test_every_case_has_its_trace() -> None:
    assert len(CASES) >= 7
    for case in CASES:
        assert (FRAMES / case / "frames.jsonl").is_file(), case


@pytest.mark.parametrize("case", CASES)
def test_expected_energy_is_the_register_delta_the_adapters_emit(case: str) -> None:
    """Start register and first stop register (a session not stopped: its last register
    sample), as the adapters read them, give energy_wh."""
    events = normalize_trace(f"{case}/frames.jsonl")
    starts = by_transaction(events, "transaction_started")
    stops = by_transaction(events, "transaction_stopped")
    sessions = expected(case)["sessions"]
    assert {(s["charge_point_id"], s["transaction_id"]) for s in sessions} == set(starts)
    for session in sessions:
        key = (session["charge_point_id"], session["transaction_id"])
        assert (key in stops) == (session["status"] == "completed"), key
        end = stops[key][0] if key in stops else last_register(events, key)
        start_wh, end_wh = starts[key][0].meter_wh, end.meter_wh
        assert start_wh is not None and end_wh is not None, key
        assert end_wh - start_wh == pytest.approx(session["energy_wh"]), key


def last_register(events: list[CanonicalEvent], key: tuple[str, str]) -> CanonicalEvent:
    """A session never stopped ends, so far, at its own last phase-less register sample."""
    return [s for s in of_type(events, "meter_sample")
            if (s.charge_point_id, s.transaction_key) == key and s.phase is None
            and s.measurand == "Energy.Active.Import.Register"][-1]


def test_q29_the_stop_reads_transaction_end_not_the_repeated_begin() -> None:
    events = normalize_trace("q29_repeated_begin/frames.jsonl")
    stop = of_type(events, "transaction_stopped")[0]
    assert stop.meter_wh == 24250.0
    restated = [s for s in of_type(events, "meter_sample") if s.frame_id == stop.frame_id]
    assert sorted((s.context, s.meter_wh) for s in restated) == [
        ("Transaction.Begin", 20000.0), ("Transaction.End", 24250.0)]


def test_q30_queued_updates_keep_their_lower_seq_no_and_offline_flag() -> None:
    events = normalize_trace("q30_offline_after_ended/frames.jsonl")
    after_stop = events[events.index(of_type(events, "transaction_stopped")[0]):]
    updates = of_type(after_stop, "transaction_updated")
    assert [(u.seq_no, u.offline, u.meter_wh) for u in updates] == [
        (2, True, 13000.0), (3, True, 15500.0)]
    assert of_type(events, "transaction_stopped")[0].seq_no == 4


def test_q31_a_refused_start_carries_no_transaction_and_its_refusal() -> None:
    events = normalize_trace("q31_refused_start_on_charging_connector/frames.jsonl")
    accepted, refused = of_type(events, "transaction_started")
    assert (accepted.transaction_key, accepted.status) == ("311", "Accepted")
    assert (refused.transaction_key, refused.transaction_id_raw, refused.status) == (
        None, "0", "Invalid")
    assert refused.connector_id == accepted.connector_id == 1
    later = events[events.index(refused):]
    assert {s.transaction_key for s in of_type(later, "meter_sample")} == {"311"}


def test_q32_the_retried_stop_is_the_same_call() -> None:
    events = normalize_trace("q32_stop_transaction_data_retried/frames.jsonl")
    first, retry = [s for s in of_type(events, "transaction_stopped")
                    if s.charge_point_id == "CIT-32A"]
    assert first.message_id == retry.message_id and first.frame_id != retry.frame_id
    queued_end = [s for s in of_type(events, "transaction_stopped")
                  if s.charge_point_id == "CIT-32B"]
    assert [(s.offline, s.meter_wh) for s in queued_end] == [(True, 75200.0)]
