"""Q28: a DC charger tags its totals ``phase: L1`` (Ruisu; CitrineOS ``normalizeDcPhaseQuirk``).

Alone, an L1 power or energy register value is the charger's total: the flows get one extra
phase-less sample of it (``l1_only_total``), so they see the charger's power. A three-phase AC
charger's L1/L2/L3 stay per-phase, and its energy is summed as before (``phases_summed``).
The second Ruisu reading is the payload CitrineOS captured (register and SoC tagged ``N``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.normalizer import ChargerNormalizer
from canonical.enums import ValueIssue
from canonical.events import CanonicalEvent
from tests.adapters.conftest import normalize_trace, of_type
from tests.adapters.test_normalizer import frame_factory

Events = list[CanonicalEvent]
REGISTER, POWER = "Energy.Active.Import.Register", "Power.Active.Import"


def totals(ev: Events, frame_id: int) -> dict[str, CanonicalEvent]:
    """The phase-less samples of one frame, by measurand."""
    return {s.measurand: s for s in of_type(ev, "meter_sample")
            if s.frame_id == frame_id and s.phase is None}


def phases(ev: Events, frame_id: int, measurand: str) -> list[str | None]:
    return [s.phase for s in of_type(ev, "meter_sample")
            if s.frame_id == frame_id and s.measurand == measurand]


def q28_ruisu_dc(ev: Events) -> None:
    tagged_l1 = totals(ev, 5)
    assert (tagged_l1[POWER].value, tagged_l1[POWER].unit) == (89417.2, "W")
    assert tagged_l1[POWER].value_issues == (ValueIssue.l1_only_total,)
    assert tagged_l1[REGISTER].meter_wh == 59331693.0
    assert tagged_l1[REGISTER].value_issues == (ValueIssue.l1_only_total,)
    assert tagged_l1[REGISTER].energy_kind == "register"
    assert set(tagged_l1) == {REGISTER, POWER, "SoC"}  # voltage and current stay L1 only
    assert phases(ev, 5, "Voltage") == ["L1"]
    captured = totals(ev, 7)
    assert captured[POWER].value == 89310.5
    assert captured[POWER].value_issues == (ValueIssue.l1_only_total,)
    assert captured[REGISTER].meter_wh == 59332190.0  # the N-tagged register, as before
    assert captured[REGISTER].value_issues == (ValueIssue.phases_summed,)
    assert phases(ev, 7, POWER) == ["L1", None]


def q28_ac_three_phases(ev: Events) -> None:
    per_phase = totals(ev, 5)
    assert set(per_phase) == {REGISTER}  # no total power, voltage or current is made up
    assert per_phase[REGISTER].meter_wh == 40100.0 + 40050.0 + 40000.0
    assert per_phase[REGISTER].value_issues == (ValueIssue.phases_summed,)
    assert phases(ev, 5, POWER) == ["L1", "L2", "L3"]
    with_total = totals(ev, 7)
    assert with_total[POWER].value == 21800.0 and with_total[POWER].value_issues == ()
    assert phases(ev, 7, POWER) == ["L1", None]  # the L1 beside a sent total stays a phase
    assert with_total[REGISTER].value_issues == ()


CASES: list[tuple[str, str, Callable[[Events], None]]] = [
    ("Q28 DC", "ruisu/q28-dc-totals-tagged-l1.jsonl", q28_ruisu_dc),
    ("Q28 AC", "generic/q28-ac-three-phases-kept.jsonl", q28_ac_three_phases),
]


@pytest.mark.parametrize(("quirk", "fixture", "check"), CASES, ids=[c[0] for c in CASES])
def test_quirk(quirk: str, fixture: str, check: Callable[[Events], None]) -> None:
    events = normalize_trace(fixture)
    assert events, quirk
    assert of_type(events, "quarantine") == []
    check(events)


def test_a_201_transaction_begins_at_its_l1_tagged_register() -> None:
    """2.0.1 reads the start meter from the Transaction.Begin register: tagged L1 it still is."""
    begin = {"timestamp": "2024-07-01T12:00:00Z", "sampledValue": [
        {"value": 59320000, "measurand": REGISTER, "phase": "L1", "context": "Transaction.Begin",
         "unitOfMeasure": {"unit": "Wh"}},
        {"value": 50.0, "measurand": POWER, "phase": "L1", "context": "Transaction.Begin",
         "unitOfMeasure": {"unit": "kW"}}]}
    started = frame_factory(1, [2, "t1", "TransactionEvent", {
        "eventType": "Started", "timestamp": "2024-07-01T12:00:00Z", "triggerReason": "Authorized",
        "seqNo": 0, "transactionInfo": {"transactionId": "RS-1"}, "evse": {"id": 1},
        "meterValue": [begin]}], protocol="ocpp2.0.1")
    events = ChargerNormalizer("CP-1").normalize(started)
    start = of_type(events, "transaction_started")[0]
    assert (start.meter_wh, start.value_issues) == (59320000.0, (ValueIssue.l1_only_total,))
    power = [s for s in of_type(events, "meter_sample") if s.measurand == POWER and not s.phase]
    assert [(p.value, p.unit) for p in power] == [(50000.0, "W")]
