"""Every client profile on the wire, against the real ingest server: one charger per profile
and protocol (plus real clients' combinations and two plain ones), two sessions each; what the
journal recorded must show the shape each profile claims, and the physics must hold."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from canonical.raw import rfc3339_to_ns
from ingest.journal import JournalReader
from sim.fleet import run_plans
from sim.plan import VENDORS, VENDORS_21, ChargerPlan, SessionPlan
from sim.profiles import CLIENT_PROFILES, V16, V21, V201

S = 1_000_000_000
SPEED = 400.0
VENDOR = {V16: VENDORS[1], V201: VENDORS[9],  # Alfen and a plain 2.0.1 station: Wh registers
          V21: VENDORS_21[0]}  # and a plain 2.1 one: 2.0.1 habits are 2.1 habits too
COMBOS = {"REAL201": (V201, ("repeat_begin_in_ended", "ended_twice", "offline_queue_late")),
          "REAL16": (V16, ("per_transaction_meter", "transaction_data_in_stop",
                           "stop_retried_new_id")),
          "PLAIN16": (V16, ()), "PLAIN201": (V201, ())}


def _sessions(dc: bool) -> list[SessionPlan]:
    """Two sessions of 20 simulated minutes (3 s at SPEED): the first charges throughout,
    the second half of it (then SuspendedEV)."""
    power = 50_000.0 if dc else 11_000.0
    full = power * 1200 / 3600
    return [SessionPlan(0.0, 1200.0, full, power, "TAG000001"),
            SessionPlan(1500.0, 1200.0, full / 2, power, "TAG000002")]


def _plans() -> list[ChargerPlan]:
    named = {f"{name}-{proto[4:]}": (proto, (name,))
             for name, p in CLIENT_PROFILES.items() for proto in sorted(p.protocols)}
    plans = []
    for i, (cp, (proto, profiles)) in enumerate({**named, **COMBOS}.items()):
        plan = ChargerPlan(f"P-{cp}", VENDOR[proto], 1000 + i, profiles, zone="Europe/Berlin")
        plan.sessions = _sessions(plan.dc)
        plans.append(plan)
    return plans


@dataclass
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]
    received_at: int
    answer: dict[str, Any]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[Call]], list[Any]]:
    """Inbound CALLs per charger, in order, with their answers; and the truth rows."""
    from ingest.config import ServerConfig
    from ingest.server import CentralSystem

    data = tmp_path_factory.mktemp("profiles")

    async def scenario() -> None:
        async with CentralSystem(ServerConfig(host="127.0.0.1", port=0,
                                              data_dir=data)) as server:
            await run_plans(f"ws://127.0.0.1:{server.port}/ocpp", _plans(), 5.0, SPEED,
                            data / "truth.jsonl", settle=0.5)

    asyncio.run(scenario())
    calls: dict[str, list[Call]] = defaultdict(list)
    answers: dict[tuple[str, str], Any] = {}
    for f in JournalReader(data).frames():
        if f.message_type is None or f.message_id is None:
            continue
        message = orjson.loads(f.raw)
        if f.message_type == 2 and f.direction == "in":
            calls[f.charge_point_id].append(Call(f.message_id, message[2], message[3],
                                                 f.received_at, {}))
        elif f.message_type == 3:
            answers[f.charge_point_id, f.message_id] = message[2]
    for cp, rows in calls.items():
        for call in rows:
            call.answer = answers.get((cp, call.message_id)) or {}
    truth = [orjson.loads(line) for line in (data / "truth.jsonl").read_bytes().splitlines()]
    return calls, truth


def _of(calls: dict[str, list[Call]], cp: str, action: str, kind: str = "") -> list[Call]:
    return [c for c in calls[f"P-{cp}"] if c.action == action
            and (not kind or c.payload.get("eventType") == kind)]


def _tx(call: Call) -> str:
    return call.payload["transactionInfo"]["transactionId"]


def _live(calls: list[Call]) -> list[Call]:
    return [c for c in calls if not c.payload.get("offline")]


def test_every_charger_ran_both_sessions(fleet: Any) -> None:
    calls, truth = fleet
    sessions = defaultdict(int)
    for row in truth:
        if row["type"] == "session" and "backfill_weeks" not in row["profiles"]:
            sessions[row["charge_point_id"]] += 1
    assert len(calls) == len(_plans()) and set(sessions.values()) == {2}


def test_repeat_begin_in_ended(fleet: Any) -> None:
    calls, _ = fleet
    for cp in ("repeat_begin_in_ended-2.0.1", "REAL201"):
        started = {_tx(c): c for c in _of(calls, cp, "TransactionEvent", "Started")}
        for ended in _of(calls, cp, "TransactionEvent", "Ended"):
            begin, end = ended.payload["meterValue"]
            first = started[_tx(ended)].payload["meterValue"][0]
            assert begin == first and begin["sampledValue"][0]["context"] == "Transaction.Begin"
            assert end["sampledValue"][0]["context"] == "Transaction.End"
            assert end["timestamp"] > begin["timestamp"]
            assert end["sampledValue"][0]["value"] > begin["sampledValue"][0]["value"]


def test_ended_twice(fleet: Any) -> None:
    calls, _ = fleet
    by_tx = defaultdict(list)
    for ended in _of(calls, "ended_twice-2.0.1", "TransactionEvent", "Ended"):
        by_tx[_tx(ended)].append(ended.payload)
    assert len(by_tx) == 2
    for one, two in by_tx.values():
        assert two["seqNo"] == one["seqNo"] + 1 and two["meterValue"] == one["meterValue"]
        assert rfc3339_to_ns(two["timestamp"]) - rfc3339_to_ns(one["timestamp"]) == 1_000_000


def test_transaction_data_in_stop(fleet: Any) -> None:
    calls, _ = fleet
    for cp in ("transaction_data_in_stop-1.6", "REAL16"):
        starts = _of(calls, cp, "StartTransaction")
        stops = {c.payload["transactionId"]: c.payload for c in _of(calls, cp, "StopTransaction")}
        assert len(starts) == len(stops) == 2
        for start in starts:
            stop = stops[start.answer["transactionId"]]
            data = stop["transactionData"]
            contexts = [mv["sampledValue"][0]["context"] for mv in data]
            assert contexts == ["Transaction.Begin"] + ["Sample.Periodic"] * 6 + \
                ["Transaction.End"]
            assert data[0]["sampledValue"][0]["value"] == str(start.payload["meterStart"])
            assert data[-1]["sampledValue"][0]["value"] == str(stop["meterStop"])
            assert data[0]["timestamp"] == start.payload["timestamp"]


def test_stop_retried_new_id(fleet: Any) -> None:
    calls, _ = fleet
    for cp in ("stop_retried_new_id-1.6", "REAL16"):
        stops = _of(calls, cp, "StopTransaction")
        assert len(stops) == 4
        for one, two in (stops[0:2], stops[2:4]):
            assert one.payload == two.payload and one.message_id != two.message_id


def test_offline_queue_late(fleet: Any) -> None:
    calls, _ = fleet
    for cp in ("offline_queue_late-2.0.1", "REAL201"):
        events = _of(calls, cp, "TransactionEvent")
        ended_at = {_tx(c): i for i, c in enumerate(events) if c.payload["eventType"] == "Ended"}
        late = [(i, c) for i, c in enumerate(events) if c.payload.get("offline")]
        assert late and {_tx(c) for _, c in late} == set(ended_at)
        for i, c in late:
            ended = events[ended_at[_tx(c)]].payload
            assert c.payload["eventType"] == "Updated" and i > ended_at[_tx(c)]
            assert c.payload["seqNo"] < ended["seqNo"]
            assert c.payload["timestamp"] < ended["timestamp"]


def test_retransmit_new_id(fleet: Any) -> None:
    calls, _ = fleet
    for cp, action in (("retransmit_new_id-1.6", "MeterValues"),
                       ("retransmit_new_id-2.0.1", "TransactionEvent")):
        sent = [orjson.dumps(c.payload) for c in _of(calls, cp, action)]
        repeats = [p for p in set(sent) if sent.count(p) == 2]
        assert len(repeats) == 2 and len(sent) == len(set(sent)) + 2  # one per transaction
    plain = [orjson.dumps(c.payload) for c in _of(calls, "PLAIN16", "MeterValues")]
    assert len(plain) == len(set(plain)) == 12


def test_per_transaction_meter(fleet: Any) -> None:
    calls, truth = fleet
    energy = {r["transaction_id"]: r["energy_wh"] for r in truth
              if r["type"] == "session" and r["charge_point_id"] == "P-per_transaction_meter-1.6"}
    starts = _of(calls, "per_transaction_meter-1.6", "StartTransaction")
    stops = _of(calls, "per_transaction_meter-1.6", "StopTransaction")
    assert [s.payload["meterStart"] for s in starts] == [0, 0]
    assert [s.payload["meterStop"] for s in stops] == \
        [energy[str(s.payload["transactionId"])] for s in stops]
    assert all(s.payload["meterStop"] > 0 for s in stops)


def test_dc_phase_l1_totals(fleet: Any) -> None:
    calls, _ = fleet
    for cp in ("dc_phase_l1_totals-1.6", "dc_phase_l1_totals-2.0.1"):
        sampled = [sv for c in calls[f"P-{cp}"] if c.action in ("MeterValues", "TransactionEvent")
                   for mv in c.payload["meterValue"] for sv in mv["sampledValue"]]
        assert sampled and {sv.get("phase") for sv in sampled} == {"L1"}
        assert {sv["measurand"] for sv in sampled} == {
            "Energy.Active.Import.Register", "Power.Active.Import", "Voltage", "Current.Import"}
        powers = [float(sv["value"]) for sv in sampled if sv["measurand"] == "Power.Active.Import"]
        assert max(powers) == 50_000.0  # DC


def test_per_station_tx_ids(fleet: Any) -> None:
    calls, _ = fleet
    started = _of(calls, "per_station_tx_ids-2.0.1", "TransactionEvent", "Started")
    assert [_tx(c) for c in started] == ["1", "2"]
    assert all(_tx(c).startswith("P-PLAIN201-T")
               for c in _of(calls, "PLAIN201", "TransactionEvent"))


def test_backfill_weeks(fleet: Any) -> None:
    calls, truth = fleet
    for cp, start, stop in (("backfill_weeks-1.6", "StartTransaction", "StopTransaction"),
                            ("backfill_weeks-2.0.1", "TransactionEvent", "TransactionEvent")):
        filled = [r for r in truth if r["type"] == "session"
                  and r["charge_point_id"] == f"P-{cp}" and "backfill_weeks" in r["profiles"]]
        assert 1 <= len(filled) <= 3
        first = calls[f"P-{cp}"][2:2 + 2 * len(filled)]  # after boot and status
        assert [c.action for c in first] == [start, stop] * len(filled)
        for c in first:
            weeks = (c.received_at - rfc3339_to_ns(c.payload["timestamp"])) / S / 86_400 / 7
            assert 1.5 < weeks < 6.5
            assert c.payload.get("offline") is (None if start == "StartTransaction" else True)
        for row in filled:
            hours = (rfc3339_to_ns(row["stopped_at"]) - rfc3339_to_ns(row["started_at"])) / S / 3600
            assert row["energy_wh"] > 0 and row["energy_wh"] <= 11_000 * hours + 1


def test_honest_dst_offsets(fleet: Any) -> None:
    calls, _ = fleet
    for cp in ("honest_dst_offsets-1.6", "honest_dst_offsets-2.0.1"):
        stamped = [c for c in calls[f"P-{cp}"] if "timestamp" in c.payload]
        assert stamped
        for c in stamped:  # winter in Berlin: +01:00; the instant is the real one
            assert c.payload["timestamp"].endswith("+01:00")
            assert abs(rfc3339_to_ns(c.payload["timestamp"]) - c.received_at) < S


def _points(events: list[Call]) -> list[tuple[int, float, float | None]]:
    """(charger time ns, register Wh, power W) of a 2.0.1 transaction's Started and Updated."""
    out: list[tuple[int, float, float | None]] = []
    for c in events:
        mv = c.payload["meterValue"][0]
        values = {sv["measurand"]: float(sv["value"]) for sv in mv["sampledValue"]}
        out.append((rfc3339_to_ns(mv["timestamp"]), values["Energy.Active.Import.Register"],
                    values.get("Power.Active.Import")))
    return out


def test_energy_is_power_times_wall_time(fleet: Any) -> None:
    """From the frames sent: register delta = sum of power x interval within 5 %, and the
    charger's timestamps are the wall clock."""
    calls, _ = fleet
    delta_total = integral_total = 0.0
    for cp in ("dc_phase_l1_totals-2.0.1", "PLAIN201", "per_station_tx_ids-2.0.1"):
        events = _live(_of(calls, cp, "TransactionEvent"))
        assert all(abs(rfc3339_to_ns(c.payload["timestamp"]) - c.received_at) < S / 2
                   for c in events)
        for tx in {_tx(c) for c in events}:
            points = _points([c for c in events if _tx(c) == tx
                              and c.payload["eventType"] != "Ended"])
            integral = sum(p * (t - t0) / S / 3600 for (t0, _, _), (t, _, p)
                           in itertools.pairwise(points) if p is not None)
            delta = points[-1][1] - points[0][1]
            if cp.startswith("dc"):  # 50 kW for 3 s, or 1.5 s then idle: 20 Wh or more
                assert integral > 20 and abs(delta - integral) <= 0.05 * integral
            delta_total, integral_total = delta_total + delta, integral_total + integral
            assert any(p == 0 for _, _, p in points[1:]) is (tx.endswith("2"))  # full: 0 W
    assert abs(delta_total - integral_total) <= 0.05 * integral_total
