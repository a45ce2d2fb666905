"""A session's energy, flags and alerts are a function of its evidence, not of arrival order.

Hypothesis draws a session (1.6 or 2.0.1: register start, per-minute energy, power) and a
delivery that real chargers produce — 2.0.1 ``Updated`` events queued offline and delivered
after the ``Ended`` in any order (Q30), ``Ended`` repeating the Begin sample (Q29) and sent
twice, 1.6 ``MeterValues`` queued past the Stop, a Stop with ``transactionData`` (Q32), any
CALL retransmitted under a new message id — and checks the result equals in-order delivery
of the same frames. Arrival-time facts (``late_stop``, ``stuck``) are out of scope here: the
config sets their thresholds out of reach.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from canonical.raw import RawFrame
from flows.config import FlowConfig
from tests.adapters.test_normalizer import frame_factory
from tests.flows.test_sessions import run

CONFIG = FlowConfig(late_stop_s=10**9, stuck_after_s=10**9)
V201 = "ocpp2.0.1"
Message = tuple[str, list[Any]]  # (protocol, OCPP-J CALL); a 1.6 start gets its answer


def _stamp(minute: int, ms: int = 0) -> str:
    return f"2024-05-01T10:{minute:02d}:00.{ms:03d}Z"


def _sample(value: float, context: str, minute: int, power_w: float | None = None
            ) -> dict[str, Any]:
    sampled = [{"value": f"{value:.1f}", "context": context,
                "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]
    if power_w is not None:
        sampled.append({"value": f"{power_w:.0f}", "context": context,
                        "measurand": "Power.Active.Import", "unit": "W"})
    return {"timestamp": _stamp(minute), "sampledValue": sampled}


def _v201(start: float, steps: list[float], late: set[int], twice: bool) -> list[Message]:
    registers = [start + sum(steps[:i + 1]) for i in range(len(steps))]
    begin = _sample(start, "Transaction.Begin", 0)

    def event(kind: str, seq: int, minute: int, meter: list[dict[str, Any]],
              offline: bool = False, ms: int = 0) -> Message:
        return V201, [2, f"{kind}{seq}", "TransactionEvent", {
            "eventType": kind, "seqNo": seq, "timestamp": _stamp(minute, ms),
            "triggerReason": "MeterValuePeriodic", "offline": offline, "evse": {"id": 1},
            "transactionInfo": {"transactionId": "tx-1"}, "meterValue": meter}]

    out = [event("Started", 0, 0, [begin])]
    out += [event("Updated", i + 1, i + 1, [_sample(r, "Sample.Periodic", i + 1, s * 60)],
                  offline=i in late) for i, (r, s) in enumerate(zip(registers, steps, strict=True))]
    end = len(steps) + 1
    ended = [begin, _sample(registers[-1], "Transaction.End", end)]
    out.append(event("Ended", end, end, ended))
    if twice:
        out.append(event("Ended", end + 1, end, ended, ms=1))
    return out


def _v16(start: float, steps: list[float], with_data: bool, retried: bool) -> list[Message]:
    registers = [start + sum(steps[:i + 1]) for i in range(len(steps))]
    out: list[Message] = [("ocpp1.6", [2, "start", "StartTransaction", {
        "connectorId": 1, "idTag": "T", "meterStart": round(start), "timestamp": _stamp(0)}])]
    out += [("ocpp1.6", [2, f"m{i}", "MeterValues", {
        "connectorId": 1, "transactionId": 7,
        "meterValue": [_sample(r, "Sample.Periodic", i + 1, s * 60)]}])
        for i, (r, s) in enumerate(zip(registers, steps, strict=True))]
    end = len(steps) + 1
    stop: dict[str, Any] = {"transactionId": 7, "meterStop": round(registers[-1]),
                            "timestamp": _stamp(end), "reason": "EVDisconnected"}
    if with_data:
        stop["transactionData"] = [_sample(start, "Transaction.Begin", 0),
                                   *(_sample(r, "Sample.Periodic", i + 1)
                                     for i, r in enumerate(registers)),
                                   _sample(registers[-1], "Transaction.End", end)]
    out.append(("ocpp1.6", [2, "stop", "StopTransaction", stop]))
    if retried:
        out.append(("ocpp1.6", [2, "stop-again", "StopTransaction", stop]))
    return out


def _minute(call: list[Any]) -> int:
    """The charger minute a CALL is stamped with (its own time, as the charger says)."""
    stamp = call[3].get("timestamp") or call[3].get("meterValue", [{}])[0].get("timestamp")
    return int(stamp[14:16]) if stamp else 0


def _frames(messages: list[Message]) -> list[RawFrame]:
    """Frames as received: the server clock never runs behind the charger's (no drift)."""
    frames, clock = [], 0.0
    for protocol, call in messages:
        clock = max(clock + 0.5, _minute(call) * 60 + 0.5)
        frames.append(frame_factory(len(frames) + 1, call, protocol=protocol, at_s=clock))
        if call[2] == "StartTransaction":
            frames.append(frame_factory(len(frames) + 1, [3, call[1], {
                "transactionId": 7, "idTagInfo": {"status": "Accepted"}}],
                direction="out", protocol=protocol, at_s=clock))
    return frames


def _boot(protocol: str) -> list[Message]:
    payload = {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"} \
        if protocol == V201 else {"chargePointVendor": "V", "chargePointModel": "M"}
    return [(protocol, [2, "boot", "BootNotification", payload])]


def _result(messages: list[Message]) -> tuple[dict[str, Any], set[tuple[Any, ...]]]:
    frames = _frames(_boot(messages[0][0]) + messages)
    sessions, alerts = run(frames, CONFIG, until=frames[-1].received_at)
    (record,) = sessions.values()
    fields = ("status", "energy_wh", "energy_rule", "meter_start_wh", "meter_stop_wh",
              "samples_energy_wh", "sample_count", "max_power_w", "flags")
    latest = {a.alert_id: a for a in alerts}  # in emission order: an id's last row stands
    return {f: getattr(record, f) for f in fields}, {(a.alert_id, a.kind, a.value)
                                                      for a in latest.values()
                                                      if a.withdrawn_at is None}


def _resend(messages: list[Message], picks: list[int]) -> list[Message]:
    """The picked CALLs again under new message ids, delivered at the end."""
    copies = []
    for n, i in enumerate(picks):
        protocol, call = messages[i % len(messages)]
        if call[2] != "StartTransaction":
            copies.append((protocol, [2, f"{call[1]}-resent{n}", *call[2:]]))
    return copies


steps_st = st.lists(st.floats(50, 350), min_size=2, max_size=8)
start_st = st.one_of(st.just(0.0), st.floats(1000, 2_000_000))


@settings(max_examples=150, deadline=None)
@given(start=start_st, steps=steps_st, data=st.data())
def test_201_delivery_order_does_not_change_the_session(start: float, steps: list[float],
                                                        data: st.DataObject) -> None:
    late = set(data.draw(st.sets(st.integers(0, len(steps) - 1))))
    twice = data.draw(st.booleans())
    messages = _v201(start, steps, late, twice)
    resent = _resend(messages, data.draw(st.lists(st.integers(0, 50), max_size=3)))
    in_order = messages + resent
    updates = [m for i, m in enumerate(messages[1:-1 - twice]) if i in late]
    queued = data.draw(st.permutations(updates))
    delivered = [m for m in messages if m not in updates] + list(queued) + resent
    expected = _result(in_order)
    assert _result(delivered) == expected
    record, alerts = expected
    assert record["energy_wh"] == round(round(start + sum(steps), 1) - round(start, 1), 3)
    assert alerts == set() and "meter_reset" not in record["flags"]


@settings(max_examples=150, deadline=None)
@given(start=start_st, steps=steps_st, data=st.data())
def test_16_delivery_order_does_not_change_the_session(start: float, steps: list[float],
                                                       data: st.DataObject) -> None:
    messages = _v16(start, steps, data.draw(st.booleans()), data.draw(st.booleans()))
    resent = _resend(messages, data.draw(st.lists(st.integers(0, 50), max_size=3)))
    samples = messages[1:1 + len(steps)]
    queued = data.draw(st.sets(st.integers(0, len(steps) - 1)))
    late = [samples[i] for i in sorted(queued)]
    delivered = [m for m in messages if m not in late] + \
        data.draw(st.permutations(late)) + resent
    expected = _result(messages + resent)
    assert _result(delivered) == expected
    record, alerts = expected
    assert record["energy_wh"] == round(start + sum(steps)) - round(start)
    assert alerts == set() and "meter_reset" not in record["flags"]
