"""Every vendor quirk of QUIRKS.md (Q1-Q27): a recorded-style trace → the canonical output.

Each row names the quirk, its fixture under tests/data/frames/<vendor>/, and what a user of the
events would notice: the adapter chosen, the Wh finance sees, the time the flows use.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from canonical.events import CanonicalEvent
from canonical.raw import rfc3339_to_ns
from tests.adapters.conftest import normalize_trace, of_type

Events = list[CanonicalEvent]


def ns(text: str) -> int:
    return rfc3339_to_ns(text)


def q01_q12(ev: Events) -> None:
    started = of_type(ev, "transaction_started")[0]
    assert started.adapter == "growatt"
    assert started.charger_at == ns("2024-05-01T12:00:03Z")
    assert started.timestamp_issues == ("no_offset_assumed_utc",)
    begin, periodic = of_type(ev, "meter_sample")
    assert (begin.value, begin.value_issues) == (0.0, ("placeholder_zero",))
    assert (periodic.meter_wh, periodic.value_issues) == (3500.0, ())


def q02(ev: Events) -> None:
    status = of_type(ev, "status_changed")[0]
    assert status.charger_at == ns("2024-04-26T12:35:02Z")
    assert status.timestamp_issues == ("short_offset",)


def q03(ev: Events) -> None:
    before_sync, after_sync = of_type(ev, "status_changed")
    assert before_sync.charger_at is None
    assert before_sync.timestamp_issues == ("unsynced_after_boot",)
    assert before_sync.charger_at_raw == "2024-05-01T12:00:01Z"
    assert after_sync.charger_at == ns("2024-05-01T10:00:08Z")


def q04_q26(ev: Events) -> None:
    plus10, utc = of_type(ev, "status_changed")
    assert plus10.charger_at == ns("2024-05-01T10:00:01Z")
    assert plus10.timestamp_issues == ("non_utc_offset",)
    assert utc.timestamp_issues == ()
    transfer = of_type(ev, "data_transfer")[0]
    assert transfer.detail == '{"power":7200,"temp":41}'


def q05(ev: Events) -> None:
    for event in of_type(ev, "status_changed") + of_type(ev, "meter_sample"):
        assert event.charger_at is None
        assert event.timestamp_issues == ("pre_sync_1970",)
    assert of_type(ev, "meter_sample")[0].meter_wh == 1520.0


def q06_q26(ev: Events) -> None:
    sample = of_type(ev, "meter_sample")[0]
    assert sample.adapter == "openevse-422"
    assert (sample.meter_wh, sample.raw_value, sample.raw_unit) == (5146.0, "5.146", "Wh")
    assert sample.value_issues == ("unit_corrected",)


def q07(ev: Events) -> None:
    sample = of_type(ev, "meter_sample")[0]
    assert sample.meter_wh == 5146.0 and sample.raw_unit == "kWh"
    assert sample.transaction_id_raw == "0"
    assert sample.transaction_key == "71"  # the placeholder names the running transaction


def q08(ev: Events) -> None:
    assert of_type(ev, "meter_sample")[0].value_issues == ("rounded",)
    stop = of_type(ev, "transaction_stopped")[0]
    assert stop.meter_wh == 269460.0  # not 269459: an empty session, not a meter going back
    assert stop.value_issues == ("stop_one_below_start_repaired",)


def q09(ev: Events) -> None:
    sample = of_type(ev, "meter_sample")[0]
    assert sample.adapter == "keba-p40-fw122"
    assert sample.meter_wh == 12345.0 and sample.value_issues == ("scale_corrected",)


def q10_q26(ev: Events) -> None:
    samples = of_type(ev, "meter_sample")
    assert [s.energy_kind for s in samples] == ["session", "session"]
    assert [s.meter_wh for s in samples] == [0.0, 2400.0]
    status = of_type(ev, "status_changed")[0]
    assert status.detail is None  # info "null" is no info
    assert status.timestamp_issues == ("missing",)


def q11(ev: Events) -> None:
    started = of_type(ev, "transaction_started")[0]
    assert started.meter_wh is None and started.value_issues == ("placeholder_zero",)
    assert started.offline is True and started.seq_no == 0
    stopped = of_type(ev, "transaction_stopped")[0]
    assert stopped.meter_wh == 910083.0
    assert of_type(ev, "transaction_updated")[0].meter_wh == 910000.0


def q13_q14(ev: Events) -> None:
    issues = [s.value_issues for s in of_type(ev, "meter_sample")]
    assert issues == [(), ("spike",), (), ("spike",), ()]
    restart = of_type(ev, "transaction_started")[1]
    assert restart.value_issues == ()
    assert restart.detail == "counted_after_stop:120Wh"


def q15(ev: Events) -> None:
    after_reboot = of_type(ev, "transaction_started")[1]
    assert after_reboot.meter_wh == 0.0
    assert after_reboot.value_issues == ("below_previous_stop",)


def q16_q27(ev: Events) -> None:
    started, stopped = of_type(ev, "transaction_started")[0], of_type(ev, "transaction_stopped")[0]
    assert started.id_tag == stopped.id_tag == "04A2B3C4"
    assert started.detail == "idtag_serial_suffix_removed"
    assert stopped.transaction_key == "161" and stopped.transaction_id_raw == "-1"
    assert stopped.value_issues == ("placeholder_tx_id_resolved",)
    assert of_type(ev, "meter_sample")[0].value_issues == ("connector0_sum",)


def q17(ev: Events) -> None:
    replayed, live = of_type(ev, "meter_sample")
    assert replayed.transaction_key is None and replayed.value_issues == ("queued_replay",)
    assert replayed.context == "CurrentMax"
    assert live.transaction_key == "171"


def q18(ev: Events) -> None:
    stop = of_type(ev, "transaction_stopped")[0]
    assert stop.transaction_key == "181" and stop.transaction_id_raw == "0"


def q19(ev: Events) -> None:
    stop = of_type(ev, "transaction_stopped")[0]
    assert (stop.transaction_key, stop.reason, stop.meter_wh) == ("191", "implicit_stop", 4000.0)
    assert stop.value_issues == ("synthesized_stop",)


def q20(ev: Events) -> None:
    assert of_type(ev, "transaction_started") == []
    assert of_type(ev, "transaction_stopped")[0].transaction_key == "777"


def q21(ev: Events) -> None:
    stop = of_type(ev, "transaction_stopped")[0]
    assert stop.charger_at == ns("2024-05-01T11:00:00Z")
    assert stop.server_received_at - stop.charger_at > 5 * 3600 * 10**9


def q22(ev: Events) -> None:
    stop = of_type(ev, "transaction_stopped")[0]
    assert (stop.transaction_key, stop.meter_wh, stop.reason) == ("5", 3000.0, "PowerLoss")


def q23(ev: Events) -> None:
    first, second = of_type(ev, "transaction_started")
    assert first.transaction_key == second.transaction_key == "231"
    assert first.message_id != second.message_id


def q24(ev: Events) -> None:
    stops = of_type(ev, "transaction_stopped")
    assert [s.transaction_key for s in stops] == ["241", "241"]
    assert stops[0].event_id != stops[1].event_id


def q26_serial(ev: Events) -> None:
    assert of_type(ev, "booted")[0].serial == "EVB1A22P4RIXYZ0123456789ABCDEF"


def q26_units(ev: Events) -> None:
    samples = {(s.measurand, s.value_issues): s for s in of_type(ev, "meter_sample")}
    assert samples[("Frequency", ())].unit == "Hz"
    assert ("Request.Energy", ()) in samples
    assert samples[("Energy.Active.Import.Register", ("phases_summed",))].meter_wh == 3600.0
    assert of_type(ev, "quarantine")[0].quarantine_reason == "unparseable_value"


def q27(ev: Events) -> None:
    register, power, interval = of_type(ev, "meter_sample")
    assert register.meter_wh == 12500.0 and register.raw_unit == "kWh"
    assert power.value == 7200.0 and power.unit == "W"
    assert (interval.meter_wh, interval.energy_kind) == (236.1, "interval")


CASES: list[tuple[str, str, Callable[[Events], None]]] = [
    ("Q1 Q12", "growatt/q01-q12-no-offset-begin-zero.jsonl", q01_q12),
    ("Q2", "generic/q02-short-offset.jsonl", q02),
    ("Q3", "chago/q03-local-time-labelled-z.jsonl", q03),
    ("Q4 Q26", "growatt/q04-q26-mixed-offsets-object-data.jsonl", q04_q26),
    ("Q5", "microocpp/q05-pre-sync-1970.jsonl", q05),
    ("Q6 Q26", "openevse/q06-q26-kwh-labelled-wh.jsonl", q06_q26),
    ("Q7", "generic/q07-kwh-decimals-txid-zero.jsonl", q07),
    ("Q8", "huawei/q08-kwh-rounded-stop-below-start.jsonl", q08),
    ("Q9", "keba/q09-p40-fw122-energy-x10.jsonl", q09),
    ("Q10 Q26", "abb/q10-q26-session-energy-register.jsonl", q10_q26),
    ("Q11", "iocharger/q11-offline-begin-zero-placeholder.jsonl", q11),
    ("Q13 Q14", "wallbox/q13-q14-spikes-counting-after-stop.jsonl", q13_q14),
    ("Q15", "generic/q15-meter-reset-on-reboot.jsonl", q15),
    ("Q16 Q27", "keba/q16-q27-idtag-suffix-placeholder-stop.jsonl", q16_q27),
    ("Q17", "alfen/q17-int64-replayed-queue.jsonl", q17),
    ("Q18", "generic/q18-stop-txid-zero.jsonl", q18),
    ("Q19", "zaptec/q19-no-stop-back-to-available.jsonl", q19),
    ("Q20", "wallbox/q20-stop-never-started.jsonl", q20),
    ("Q21", "generic/q21-stale-stop-hours-late.jsonl", q21),
    ("Q22", "microocpp/q22-stop-without-start.jsonl", q22),
    ("Q23", "microocpp/q23-duplicate-start-new-message-id.jsonl", q23),
    ("Q24", "generic/q24-stop-twice-after-reboot.jsonl", q24),
    ("Q26 serial", "generic/q26-long-serial.jsonl", q26_serial),
    ("Q26 units", "generic/q26-hz-illegal-measurand-phases.jsonl", q26_units),
    ("Q27", "generic/q27-multiplier-interval-decimal-wh.jsonl", q27),
]
# Q25 (no Sec-WebSocket-Protocol) is a handshake quirk: tests/ingest/test_connections.py.


@pytest.mark.parametrize(("quirk", "fixture", "check"), CASES, ids=[c[0] for c in CASES])
def test_quirk(quirk: str, fixture: str, check: Callable[[Events], None]) -> None:
    events = normalize_trace(fixture)
    assert events, quirk
    check(events)


def test_every_inbound_frame_accounted_for() -> None:
    """No frame of any fixture is dropped: each charger CALL yields an event from its frame."""
    from tests.adapters.conftest import load_trace

    for _, fixture, _ in CASES:
        frames = load_trace(fixture)
        produced = {e.frame_id for e in normalize_trace(fixture)}
        calls = {f.frame_id for f in frames if f.direction == "in" and f.message_type == 2}
        assert calls <= produced, fixture
