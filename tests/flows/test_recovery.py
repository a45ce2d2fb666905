"""Stuck-session recovery decisions (flows/recovery.py) on frame sequences through the real
``ChargerPipeline``: each scenario also with the pipeline pickled and restored after every
frame (as a Bytewax snapshot does)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from canonical.enums import HOLDS_BILLING, RecoveryPolicy, SessionFlag
from canonical.findings import Alert, SessionRecord
from canonical.raw import RawFrame
from flows.charger import ChargerPipeline, Output
from flows.config import FlowConfig, S
from tests.adapters.test_normalizer import frame_factory
from tests.flows.test_sessions import _session_frames

HOUR = 3600
ACT = FlowConfig(stuck_after_s=900, recovery=RecoveryPolicy.act)
V201 = "ocpp2.0.1"


def play(frames: list[RawFrame], config: FlowConfig, snapshots: bool,
         until_s: float | None = None) -> tuple[dict[str, SessionRecord], list[Alert]]:
    """Latest version of each session and every alert; ``snapshots``: pickled after every
    frame. ``until_s``: the clock advanced to that many seconds after the first frame."""
    pipeline, out = ChargerPipeline(frames[0].charge_point_id, config), Output()
    for frame in frames:
        pipeline.apply(frame, out)
        if snapshots:
            pipeline = pickle.loads(pickle.dumps(pipeline))
    end = frames[-1].received_at if until_s is None else frames[0].received_at + int(until_s * S)
    pipeline.advance(end, out)
    latest: dict[str, SessionRecord] = {}
    for record in out.sessions:
        latest[record.session_id] = record
    return latest, out.alerts


@pytest.fixture(params=[False, True], ids=["live", "snapshots"])
def snapshots(request: Any) -> bool:
    return bool(request.param)


def status16(frame_id: int, status: str, at_s: float, connector: int = 1) -> RawFrame:
    return frame_factory(frame_id, [2, f"st{frame_id}", "StatusNotification", {
        "connectorId": connector, "status": status, "errorCode": "NoError"}], at_s=at_s)


def sample16(frame_id: int, value: str, at_s: float) -> RawFrame:
    return frame_factory(frame_id, [2, f"mv{frame_id}", "MeterValues", {
        "connectorId": 1, "transactionId": 5, "meterValue": [{
            "timestamp": "2024-05-01T11:30:00Z", "sampledValue": [{"value": value}]}]}],
        at_s=at_s)


def stuck16() -> list[RawFrame]:
    """A 1.6 session (10,000 Wh at start, last reading 12,000 Wh at 660 s), silent since."""
    return _session_frames(["11000", "12000"])


def held(record: SessionRecord) -> bool:
    return bool(HOLDS_BILLING.intersection(record.flags))


def test_lost_transaction_16_closes_at_the_last_reading(snapshots: bool) -> None:
    sessions, alerts = play([*stuck16(), status16(20, "Available", 2000)], ACT, snapshots)
    s = sessions["CP-1:5"]
    assert (s.status, s.meter_stop_wh, s.energy_wh, s.energy_rule) == (
        "completed", 12000.0, 2000.0, "recovery_last_reading")
    assert "closed_by_recovery" in s.flags and held(s)
    assert s.stopped_at == s.last_event_at  # its last evidence, not the Available's time
    assert [a.kind for a in alerts] == ["stuck_session"]


def v201_frames() -> list[RawFrame]:
    def tx(frame_id: int, kind: str, seq: int, minute: int, wh: float) -> RawFrame:
        context = "Transaction.Begin" if kind == "Started" else "Sample.Periodic"
        return frame_factory(frame_id, [2, f"t{frame_id}", "TransactionEvent", {
            "eventType": kind, "seqNo": seq, "timestamp": f"2024-05-01T10:{minute:02d}:00Z",
            "triggerReason": "MeterValuePeriodic", "evse": {"id": 1, "connectorId": 1},
            "transactionInfo": {"transactionId": "tx-1"}, "meterValue": [{
                "timestamp": f"2024-05-01T10:{minute:02d}:00Z", "sampledValue": [{
                    "value": wh, "context": context,
                    "measurand": "Energy.Active.Import.Register"}]}]}],
            protocol=V201, at_s=minute * 60)

    boot = frame_factory(1, [2, "b", "BootNotification", {
        "chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"}],
        protocol=V201)
    return [boot, tx(2, "Started", 0, 0, 5000.0), tx(3, "Updated", 1, 5, 6500.0)]


def asked(frame_id: int, at_s: float, answer: dict[str, Any]) -> list[RawFrame]:
    """Our GetTransactionStatus and the charger's answer."""
    return [frame_factory(frame_id, [2, f"g{frame_id}", "GetTransactionStatus", {
                "transactionId": "tx-1"}], direction="out", protocol=V201, at_s=at_s),
            frame_factory(frame_id + 1, [3, f"g{frame_id}", answer], protocol=V201,
                          at_s=at_s + 0.2)]


def test_lost_transaction_201_closes_on_get_transaction_status(snapshots: bool) -> None:
    frames = [*v201_frames(), *asked(10, 2000, {"ongoingIndicator": False,
                                                "messagesInQueue": False})]
    sessions, _ = play(frames, ACT, snapshots)
    s = sessions["CP-1:tx-1"]
    assert (s.status, s.energy_wh, s.energy_rule) == ("completed", 1500.0,
                                                       "recovery_last_reading")
    assert "closed_by_recovery" in s.flags and held(s)


def test_201_messages_still_queued_or_ongoing_close_nothing(snapshots: bool) -> None:
    queued = [*v201_frames(), *asked(10, 2000, {"ongoingIndicator": False,
                                                "messagesInQueue": True})]
    assert play(queued, ACT, snapshots)[0]["CP-1:tx-1"].status == "stuck"
    ongoing = [*v201_frames(), *asked(10, 2000, {"ongoingIndicator": True,
                                                 "messagesInQueue": False})]
    s = play(ongoing, ACT, snapshots)[0]["CP-1:tx-1"]
    assert s.status == "active" and "recovered_from_stuck" in s.flags


def test_lost_transaction_201_closes_on_available(snapshots: bool) -> None:
    status = frame_factory(10, [2, "st", "StatusNotification", {
        "timestamp": "2024-05-01T10:40:00Z", "connectorStatus": "Available", "evseId": 1,
        "connectorId": 1}], protocol=V201, at_s=2400)
    other = frame_factory(10, [2, "st", "StatusNotification", {
        "timestamp": "2024-05-01T10:40:00Z", "connectorStatus": "Available", "evseId": 1,
        "connectorId": 2}], protocol=V201, at_s=2400)
    assert "closed_by_recovery" in play([*v201_frames(), status], ACT, snapshots)[0][
        "CP-1:tx-1"].flags
    assert play([*v201_frames(), other], ACT, snapshots)[0]["CP-1:tx-1"].status == "stuck"


def test_an_idle_connectors_reading_after_available_does_not_reopen_it(
        snapshots: bool) -> None:
    """The 1.6 playbook's second step: MeterValues triggered after ``Available`` come without
    a transactionId (the adapter puts them on the open transaction): not the session's."""
    idle = frame_factory(21, [2, "mv", "MeterValues", {"connectorId": 1, "meterValue": [{
        "timestamp": "2024-05-01T10:40:00Z", "sampledValue": [{"value": "12000"}]}]}],
        at_s=2001)
    s = play([*stuck16(), status16(20, "Available", 2000), idle], ACT, snapshots)[0]["CP-1:5"]
    assert (s.status, s.energy_wh) == ("completed", 2000.0)
    assert "closed_by_recovery" in s.flags


def test_a_session_that_continues_is_recovered_not_closed(snapshots: bool) -> None:
    for sign in (sample16(20, "12500", 2000), status16(20, "Charging", 2000),
                 status16(20, "SuspendedEV", 2000)):
        s = play([*stuck16(), sign], ACT, snapshots)[0]["CP-1:5"]
        assert s.status == "active" and "recovered_from_stuck" in s.flags
        assert "closed_by_recovery" not in s.flags and not held(s)


def test_offline_for_a_day_closes_softly_at_the_last_reading(snapshots: bool) -> None:
    gone = frame_factory(20, '{"code":1006}', direction="", kind="disconnected", at_s=700)
    frames = [*stuck16(), gone]
    assert play(frames, ACT, snapshots, until_s=23 * HOUR)[0]["CP-1:5"].status == "stuck"
    s = play(frames, ACT, snapshots, until_s=25 * HOUR)[0]["CP-1:5"]
    assert (s.status, s.energy_wh, s.energy_rule) == ("completed", 2000.0,
                                                       "recovery_last_reading")
    assert "closed_by_recovery" in s.flags and held(s)
    shorter = FlowConfig(stuck_after_s=900, recovery=RecoveryPolicy.act,
                         recovery_close_after_s=3600)
    assert play(frames, shorter, snapshots, until_s=2 * HOUR)[0]["CP-1:5"].status == \
        "completed"


def test_a_refused_start_on_the_connector_never_closes_it(snapshots: bool) -> None:
    """A driver tries the connector while the session is stuck; the start is refused and the
    connector goes back to Available: that says nothing of the stuck session."""
    refused = [frame_factory(20, [2, "s2", "StartTransaction", {
                   "connectorId": 1, "idTag": "X", "meterStart": 12000,
                   "timestamp": "2024-05-01T10:40:00Z"}], at_s=2000),
               frame_factory(21, [3, "s2", {"transactionId": 6, "idTagInfo": {
                   "status": "Blocked"}}], direction="out", at_s=2000.1),
               status16(22, "Available", 2010)]
    sessions, _ = play([*stuck16(), *refused], ACT, snapshots)
    assert sessions["CP-1:5"].status == "stuck"
    assert "closed_by_recovery" not in sessions["CP-1:6"].flags


def test_available_then_charging_does_not_leave_it_closed(snapshots: bool) -> None:
    frames = [*stuck16(), status16(20, "Available", 2000), status16(21, "Charging", 2005)]
    s = play(frames, ACT, snapshots)[0]["CP-1:5"]
    assert s.status == "active" and s.meter_stop_wh is None and s.stopped_at is None
    assert {"recovered_from_stuck", "recovery_revised"} <= set(s.flags)
    assert "closed_by_recovery" not in s.flags and not held(s)


def test_the_real_stop_wins_over_a_recovery_close(snapshots: bool) -> None:
    stop = frame_factory(21, [2, "p", "StopTransaction", {
        "transactionId": 5, "meterStop": 13000, "timestamp": "2024-05-01T12:00:00Z"}],
        at_s=9000)
    frames = [*stuck16(), status16(20, "Available", 2000), stop]
    sessions, alerts = play(frames, ACT, snapshots)
    s = sessions["CP-1:5"]
    assert (s.status, s.meter_stop_wh, s.energy_wh, s.energy_rule) == (
        "completed", 13000.0, 3000.0, "register_delta")
    assert "recovery_revised" in s.flags and "closed_by_recovery" not in s.flags
    assert not held(s)
    assert "stuck_session" in [a.kind for a in alerts]  # history stays


def test_observe_flags_what_act_would_close_and_closes_nothing(snapshots: bool) -> None:
    observe = FlowConfig(stuck_after_s=900)  # the default policy
    assert observe.recovery == RecoveryPolicy.observe
    s = play([*stuck16(), status16(20, "Available", 2000)], observe, snapshots)[0]["CP-1:5"]
    assert s.status == "stuck" and s.energy_rule == "so_far"
    assert "recovery_would_close" in s.flags and not held(s)
    frames = [*stuck16(), status16(20, "Available", 2000), sample16(21, "12500", 2100)]
    s = play(frames, observe, snapshots)[0]["CP-1:5"]
    assert s.status == "active" and "recovery_would_close" not in s.flags


def test_off_is_todays_behaviour(snapshots: bool) -> None:
    off = FlowConfig(stuck_after_s=900, recovery=RecoveryPolicy.off)
    s = play([*stuck16(), status16(20, "Available", 2000)], off, snapshots)[0]["CP-1:5"]
    assert s.status == "active" and "recovered_from_stuck" in s.flags  # a sign, as before
    recovery_flags = {SessionFlag.closed_by_recovery, SessionFlag.recovery_would_close,
                      SessionFlag.recovery_revised}
    assert not recovery_flags.intersection(s.flags)
    gone = frame_factory(20, '{"code":1006}', direction="", kind="disconnected", at_s=700)
    s = play([*stuck16(), gone], off, snapshots, until_s=30 * HOUR)[0]["CP-1:5"]
    assert s.status == "stuck"


def heartbeats(first_id: int, from_s: int, to_s: int) -> list[RawFrame]:
    return [frame_factory(first_id + i, [2, f"hb{first_id + i}", "Heartbeat", {}], at_s=t)
            for i, t in enumerate(range(from_s, to_s, 60))]


def test_a_reboot_that_lost_the_transaction_is_stuck_then_closed(snapshots: bool) -> None:
    """The charger reboots mid-session, says Available and keeps heartbeating: its heartbeats
    are no sign of the session any more; stuck 900 s after the boot, closed on the triggered
    status."""
    reboot = [frame_factory(20, [2, "b2", "BootNotification", {
                  "chargePointVendor": "X", "chargePointModel": "Y"}], at_s=700),
              frame_factory(21, [3, "b2", {"status": "Accepted"}], direction="out", at_s=700),
              status16(22, "Available", 701)]
    frames = [*stuck16(), *reboot, *heartbeats(30, 760, 1700)]
    sessions, alerts = play(frames, ACT, snapshots)
    assert sessions["CP-1:5"].status == "stuck" and "stuck_session" in [a.kind for a in alerts]
    s = play([*frames, status16(99, "Available", 1710)], ACT, snapshots)[0]["CP-1:5"]
    assert "closed_by_recovery" in s.flags and s.energy_wh == 2000.0
    off = FlowConfig(stuck_after_s=900, recovery=RecoveryPolicy.off)
    assert play(frames, off, snapshots)[0]["CP-1:5"].status == "active"  # as before


def test_a_silent_session_of_a_heartbeating_charger_is_not_stuck(snapshots: bool) -> None:
    frames = [*stuck16(), *heartbeats(30, 760, 4000)]
    assert play(frames, ACT, snapshots)[0]["CP-1:5"].status == "active"
