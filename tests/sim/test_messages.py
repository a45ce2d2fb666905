"""The payload builders and the meter: wire shapes and physics without a socket."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from canonical.raw import rfc3339_to_ns
from sim import messages as m
from sim.charger import SimCharger
from sim.messages import BEGIN, END, PERIODIC, Reading
from sim.meter import Meter
from sim.plan import AC_MAX_W, VENDORS, ChargerPlan, SessionPlan
from sim.session import _implausible_factor
from sim.truth import Truth

S = 1_000_000_000


def test_an_l1_only_dc_charger_tags_every_total_l1_and_sends_no_other_phase() -> None:
    r = Reading("2026-01-05T10:00:00.000Z", "1234", "Wh", PERIODIC, 40_000.0, l1_only=True)
    v16, v201 = m.sampled_values(r, "ocpp1.6"), m.sampled_values(r, "ocpp2.0.1")
    assert [s["measurand"] for s in v16] == ["Energy.Active.Import.Register",
                                             "Power.Active.Import", "Voltage", "Current.Import"]
    assert {s["phase"] for s in v16 + v201} == {"L1"}
    assert v16[1]["value"] == "40000" and v16[1]["unit"] == "W"   # 1.6: strings
    assert v201[0]["value"] == 1234 and v201[3]["value"] == 100.0  # 2.0.1: numbers
    assert v201[1]["unitOfMeasure"] == {"unit": "W"}


def test_an_ac_charger_sends_a_phaseless_register_and_power() -> None:
    sampled = m.sampled_values(Reading("t", "5.15", "kWh", PERIODIC, 7_400.0), "ocpp1.6")
    assert sampled == [
        {"measurand": "Energy.Active.Import.Register", "context": PERIODIC, "value": "5.15",
         "unit": "kWh"},
        {"measurand": "Power.Active.Import", "context": PERIODIC, "value": "7400", "unit": "W"}]


def test_stop_with_transaction_data_carries_begin_periodic_and_end() -> None:
    begin = Reading("2026-01-05T10:00:00.000Z", "1000", "Wh", BEGIN)
    sample = Reading("2026-01-05T10:10:00.000Z", "1500", "Wh", PERIODIC, 3_000.0)
    end = Reading("2026-01-05T10:20:00.000Z", "2000", "Wh", END)
    stop = m.stop_transaction(7, 2000, end.stamp, "TAG", [begin, sample, end])
    data = stop["transactionData"]
    assert [mv["sampledValue"][0]["context"] for mv in data] == [BEGIN, PERIODIC, END]
    assert [mv["timestamp"] for mv in data] == [begin.stamp, sample.stamp, end.stamp]
    assert data[0]["sampledValue"][0]["value"] == "1000" and stop["meterStop"] == 2000
    assert "transactionData" not in m.stop_transaction(7, 2000, end.stamp, "TAG")


def test_an_ended_event_keeps_its_readings_in_order_and_marks_offline() -> None:
    begin = Reading("2026-01-05T10:00:00.000Z", "1000", "Wh", BEGIN)
    end = Reading("2026-01-05T10:20:00.000Z", "2000", "Wh", END)
    event = m.transaction_event("Ended", "7", 3, end.stamp, [begin, end], offline=True)
    assert [mv["timestamp"] for mv in event["meterValue"]] == [begin.stamp, end.stamp]
    assert event["offline"] is True and event["seqNo"] == 3
    assert event["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert "offline" not in m.transaction_event("Updated", "7", 1, end.stamp, [end])


def test_meter_integrates_power_over_wall_time_and_reads_whole_wh() -> None:
    meter = Meter(1000.0, at_ns=0)
    meter.set_power(22_000.0, 0)
    meter.advance(90 * S)  # 22 kW for 90 s: 550 Wh
    assert meter.reading() == meter.true_reading() == 1550
    meter.set_power(0.0, 100 * S)
    meter.advance(200 * S)
    assert abs(meter.delivered_wh - (1000 + 22_000 * 100 / 3600)) < 1e-6


def test_meter_faults_change_the_reading_not_the_truth() -> None:
    meter = Meter(5000.4, at_ns=0)
    meter.restart_at_zero()  # a per-transaction meter: reads 0, and so does the truth
    assert meter.reading() == meter.true_reading() == 0
    meter.delivered_wh += 300
    meter.reset(kept_wh=50)  # fault: restarted at 0 50 Wh ago
    assert (meter.reading(), meter.true_reading()) == (50, 300)
    meter.settle()  # the next session counts on from what the register shows
    meter.delivered_wh += 100
    assert (meter.reading(), meter.true_reading()) == (150, 150)
    meter.scale, meter.phantom_wh = 10.0, 2000.0
    assert (meter.reading(), meter.true_reading()) == (21_500, 150)


def _charger(tmp_path: Path, zone: str = "UTC", speed: float = 1.0) -> SimCharger:
    plan = ChargerPlan("SIM-DST", VENDORS[1], 1, profiles=("honest_dst_offsets",), zone=zone)
    return SimCharger(plan, "ws://unused", speed, Truth(tmp_path / "t.jsonl"), 0)


def test_implausible_energy_is_beyond_the_rating_and_no_unit_error(tmp_path: Path) -> None:
    for speed, energy_wh in ((240.0, 300.0), (240.0, 24_000.0), (24.0, 90_000.0),
                             (24.0, 5_330.0)):  # the last delivers ~222 Wh: +2 kWh is x10
        c = _charger(tmp_path, speed=speed)
        s = SessionPlan(0.0, 3600.0, energy_wh, 11_000.0, "TAG")
        delivered = s.power_w * s.charging_share / speed  # Wh in its wall hour / speed
        factor = _implausible_factor(c, s)
        assert factor * delivered >= 2_000
        assert delivered * (1 + factor) > 3 * AC_MAX_W / speed
        # booked/delivered midway between powers of ten (x3.2, x32, ...), applied to what is
        # really delivered: never a x10 or x100 look-alike (Q9), whatever the plan misjudged
        ratio = math.log10(1 + factor)
        assert abs(ratio - round(ratio)) >= 0.49


def test_honest_dst_stamps_are_local_time_with_the_true_offset(tmp_path: Path) -> None:
    async def stamps() -> list[str]:
        c = _charger(tmp_path, "Europe/Berlin")
        return [c.stamp(rfc3339_to_ns(t)) for t in ("2026-01-15T12:00:00Z",
                                                     "2026-07-15T12:00:00Z")]

    winter, summer = asyncio.run(stamps())
    assert winter == "2026-01-15T13:00:00.000+01:00"
    assert summer == "2026-07-15T14:00:00.000+02:00"
    assert rfc3339_to_ns(winter) == rfc3339_to_ns("2026-01-15T12:00:00Z")
