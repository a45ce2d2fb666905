"""Session and detector logic on recorded-style traces, without Bytewax (plain objects)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from canonical.findings import Alert, SessionRecord
from canonical.raw import RawFrame, rfc3339_to_ns
from flows.charger import ChargerPipeline, Output
from flows.config import FlowConfig, S
from tests.adapters.conftest import load_trace
from tests.adapters.test_normalizer import frame_factory

HOUR = 3600 * S


def run(frames: list[RawFrame], config: FlowConfig | None = None,
        until: int | None = None) -> tuple[dict[str, SessionRecord], list[Alert]]:
    """Latest version of each session, and every alert, for one charger's frames."""
    pipeline = ChargerPipeline(frames[0].charge_point_id, config or FlowConfig())
    out = Output()
    for frame in frames:
        pipeline.apply(frame, out)
    pipeline.advance(until or frames[-1].received_at, out)
    latest: dict[str, SessionRecord] = {}
    for record in out.sessions:
        if record.session_id not in latest or record.version > latest[record.session_id].version:
            latest[record.session_id] = record
    return latest, out.alerts


def kinds(alerts: list[Alert]) -> list[str]:
    return sorted(a.kind for a in alerts)


def test_duplicate_start_is_one_session_billed_once() -> None:
    """Q23: the same start under a new message id is a benign resend: recorded, no alert."""
    sessions, alerts = run(load_trace("microocpp/q23-duplicate-start-new-message-id.jsonl"))
    assert list(sessions) == ["MO-23:231"]
    assert kinds(alerts) == [] and "duplicate_start" in sessions["MO-23:231"].flags


def test_stop_sent_twice_after_reboot_first_wins() -> None:
    """Q24: the same stop again after a reboot is a benign retransmission: recorded, billed
    once, no alert, no hold (flows/stops.py has the policy table)."""
    sessions, alerts = run(load_trace("generic/q24-stop-twice-after-reboot.jsonl"))
    session = sessions["EVR-01:241"]
    assert (session.status, session.energy_wh, session.energy_rule) == (
        "completed", 2000.0, "register_delta")
    assert "duplicate_stop" not in kinds(alerts)
    assert "stop_resent" in session.flags and "conflicting_stop" not in session.flags


def test_replayed_start_after_boot_is_a_phantom() -> None:
    frames = load_trace("generic/q24-stop-twice-after-reboot.jsonl")[:4]  # boot, start
    boot, start = frames[0:2], frames[2:4]
    later = [replace(f, frame_id=f.frame_id + 10, received_at=f.received_at + HOUR)
             for f in boot + start]
    sessions, alerts = run(frames + later, FlowConfig(stuck_after_s=10 * 3600))
    assert list(sessions) == ["EVR-01:241"]
    assert kinds(alerts) == ["phantom_transaction"]
    assert "phantom" in sessions["EVR-01:241"].flags


def test_a_real_stop_replaces_one_the_adapter_synthesized() -> None:
    frames = load_trace("zaptec/q19-no-stop-back-to-available.jsonl")
    sessions, alerts = run(frames)
    assert sessions["ZAP-01:191"].energy_wh == 3000.0  # closed by Available, at 4,000 Wh
    last = frames[-1]
    real = replace(last, frame_id=last.frame_id + 1, received_at=last.received_at + S,
                   direction="in", message_type=2,
                   message_id="m5", action="StopTransaction", raw=orjson.dumps([
                       2, "m5", "StopTransaction", {"transactionId": 191, "meterStop": 4500,
                                                    "timestamp": "2024-05-01T10:31:30Z"}]).decode())
    sessions, alerts = run([*frames, real])
    assert (sessions["ZAP-01:191"].energy_wh, sessions["ZAP-01:191"].status) == (
        3500.0, "completed")
    assert "duplicate_stop" not in kinds(alerts)


def test_stop_without_start_is_flagged_and_alerted() -> None:
    sessions, alerts = run(load_trace("wallbox/q20-stop-never-started.jsonl"))
    assert sessions["WB-02:777"].status == "orphan_stop"
    assert "stop_without_start" in sessions["WB-02:777"].flags
    assert kinds(alerts) == ["stop_without_start"]


def test_stop_without_start_bills_from_the_previous_stop() -> None:
    """Start lost: its samples open the session; energy runs from the last meterStop."""
    def ts(minute: int) -> str:
        return f"2024-05-01T10:{minute:02d}:00Z"

    frames = [
        frame_factory(1, [2, "s1", "StartTransaction", {
            "connectorId": 1, "idTag": "A", "meterStart": 1000, "timestamp": ts(0)}], at_s=0),
        frame_factory(2, [3, "s1", {"transactionId": 1, "idTagInfo": {"status": "Accepted"}}],
                      direction="out", at_s=0.1),
        frame_factory(3, [2, "p1", "StopTransaction", {
            "transactionId": 1, "meterStop": 5000, "timestamp": ts(10)}], at_s=600),
        frame_factory(4, [2, "m2", "MeterValues", {"connectorId": 1, "transactionId": 2,
                                                   "meterValue": [{"timestamp": ts(20), "sampledValue": [
                                                       {"value": "6000", "unit": "Wh"}]}]}],
                      at_s=1200),
        frame_factory(5, [2, "p2", "StopTransaction", {
            "transactionId": 2, "meterStop": 9000, "timestamp": ts(30)}], at_s=1800),
    ]
    sessions, alerts = run(frames)
    orphan = sessions["CP-1:2"]
    assert (orphan.status, orphan.energy_wh, orphan.energy_rule) == (
        "orphan_stop", 4000.0, "previous_stop_as_start")
    assert {"start_missing", "stop_without_start"} <= set(orphan.flags)
    assert sessions["CP-1:1"].energy_wh == 4000.0
    assert kinds(alerts) == ["stop_without_start"]
    late_start = frame_factory(6, [2, "s2", "StartTransaction", {
        "connectorId": 1, "idTag": "B", "meterStart": 5000, "timestamp": ts(15)}], at_s=2400)
    answer = frame_factory(7, [3, "s2", {"transactionId": 2, "idTagInfo": {
        "status": "Accepted"}}], direction="out", at_s=2400.1)
    sessions, _ = run([*frames, late_start, answer])  # the start came after all: complete
    whole = sessions["CP-1:2"]
    assert (whole.status, whole.energy_wh, whole.energy_rule, whole.flags) == (
        "completed", 4000.0, "register_delta", ["start_after_stop"])


def test_late_stop_is_accepted_and_flagged() -> None:
    sessions, alerts = run(load_trace("generic/q21-stale-stop-hours-late.jsonl"),
                           FlowConfig(stuck_after_s=10 * 3600))
    session = sessions["ENC-01:211"]
    assert (session.status, session.energy_wh) == ("completed", 9000.0)
    late = [a for a in alerts if a.kind == "late_stop"]
    assert late and late[0].value is not None and late[0].value > 5 * 3600


def test_offline_begin_zero_does_not_bill_the_odometer() -> None:
    sessions, _ = run(load_trace("iocharger/q11-offline-begin-zero-placeholder.jsonl"))
    session = sessions["IOC-01:IOC-TX-1"]
    assert session.energy_wh == 83.0  # not 910,083 Wh
    assert session.energy_rule == "first_sample_as_start"


def test_meter_restarting_at_zero_is_normal_not_a_reset() -> None:
    """Q15: a meter that restarts at 0 (per transaction, or on reboot) is allowed in practice:
    the new session bills its own delta, flagged, with no alert and no hold."""
    sessions, alerts = run(load_trace("generic/q15-meter-reset-on-reboot.jsonl"),
                           FlowConfig(stuck_after_s=10 * 3600))
    assert "meter_reset" not in kinds(alerts)
    after = [s for s in sessions.values() if s.meter_start_wh == 0.0]
    assert after and all("per_transaction_meter" in s.flags for s in after)
    assert all("meter_reset" not in s.flags for s in sessions.values())


def test_start_below_previous_stop_but_above_zero_is_a_reset_with_amount() -> None:
    def start(frame_id: int, meter: int, minute: int) -> list[RawFrame]:
        return [frame_factory(frame_id, [2, f"s{frame_id}", "StartTransaction", {
            "connectorId": 1, "idTag": "T", "meterStart": meter,
            "timestamp": f"2024-05-01T1{minute}:00:00Z"}], at_s=3600 * minute),
            frame_factory(frame_id + 1, [3, f"s{frame_id}", {
                "transactionId": frame_id, "idTagInfo": {"status": "Accepted"}}],
                direction="out", at_s=3600 * minute)]
    stop = frame_factory(12, [2, "p", "StopTransaction", {
        "transactionId": 10, "meterStop": 20_000, "timestamp": "2024-05-01T10:30:00Z"}],
        at_s=1800)
    frames = [*start(10, 10_000, 0), stop, *start(20, 8_000, 1)]
    for order in (frames, [*start(20, 8_000, 1), *start(10, 10_000, 0), stop]):
        sessions, alerts = run(order, FlowConfig(stuck_after_s=10 * 3600))
        reset = [a for a in alerts if a.kind == "meter_reset"]
        assert [(a.value, a.unit) for a in reset] == [(12000.0, "Wh")]
        assert "meter_reset" in sessions["CP-1:20"].flags


def _session_frames(values: list[str]) -> list[RawFrame]:
    frames = [frame_factory(1, [2, "b", "BootNotification", {
        "chargePointVendor": "X", "chargePointModel": "Y"}]),
        frame_factory(2, [3, "b", {"status": "Accepted"}], direction="out"),
        frame_factory(3, [2, "s", "StartTransaction", {
            "connectorId": 1, "idTag": "T", "meterStart": 10_000,
            "timestamp": "2024-05-01T10:00:00Z"}]),
        frame_factory(4, [3, "s", {"transactionId": 5, "idTagInfo": {"status": "Accepted"}}],
                      direction="out")]
    for i, value in enumerate(values):
        frames.append(frame_factory(5 + i, [2, f"m{i}", "MeterValues", {
            "connectorId": 1, "transactionId": 5, "meterValue": [{
                "timestamp": f"2024-05-01T10:{10 + i:02d}:00Z",
                "sampledValue": [{"value": value}]}]}], at_s=600 + 60 * i))
    return frames


def test_register_rollback_keeps_energy_before_it() -> None:
    frames = _session_frames(["11000", "12000", "500", "1500"])
    sessions, alerts = run(frames)
    session = sessions["CP-1:5"]
    assert "meter_reset" in kinds(alerts)
    assert session.energy_wh == 3500.0  # 2000 before the reset + 1500 since it restarted at 0


def test_unit_error_sample_is_ignored_and_alerted() -> None:
    frames = _session_frames(["11000", "12", "12000"])
    sessions, alerts = run(frames)
    assert kinds(alerts) == ["meter_unit_error"]
    assert sessions["CP-1:5"].energy_wh == 2000.0


def test_reset_landing_near_a_thousandth_is_a_reset_not_a_unit_error() -> None:
    """2,149 Wh after 2,927,286 is ~1/1000 by chance: the next reading, still low, decides."""
    sessions, alerts = run(_session_frames(["2927286", "2149", "4297"]))
    assert kinds(alerts) == ["meter_reset"]
    assert sessions["CP-1:5"].energy_wh == 2927286 - 10_000 + 4297


def test_a_thousandth_drop_settled_by_the_stop() -> None:
    frames = _session_frames(["11000", "12"])
    frames.append(frame_factory(30, [2, "p", "StopTransaction", {
        "transactionId": 5, "meterStop": 12000, "timestamp": "2024-05-01T10:13:00Z"}],
        at_s=780))
    sessions, alerts = run(frames)
    assert kinds(alerts) == ["meter_unit_error"]
    assert sessions["CP-1:5"].energy_wh == 2000.0


def test_a_stop_resent_under_its_message_id_is_a_retransmission() -> None:
    """Our answer was lost (our restart): the same CALL again is not a second stop."""
    def stop(frame_id: int, message_id: str) -> RawFrame:
        return frame_factory(frame_id, [2, message_id, "StopTransaction", {
            "transactionId": 5, "meterStop": 12000, "timestamp": "2024-05-01T10:13:00Z"}],
            at_s=780 + frame_id)
    frames = _session_frames(["11000"])
    sessions, alerts = run([*frames, stop(30, "p"), stop(31, "p")])
    assert kinds(alerts) == [] and sessions["CP-1:5"].energy_wh == 2000.0
    sessions, alerts = run([*frames, stop(30, "p"), stop(31, "p2")])
    assert kinds(alerts) == []  # the same stop under a new id: benign, recorded
    assert "stop_resent" in sessions["CP-1:5"].flags


def test_stuck_session_recovers_when_the_charger_reports() -> None:
    frames = _session_frames(["11000"])
    gone = frame_factory(20, '{"code":1006}', direction="", kind="disconnected", at_s=700)
    config = FlowConfig(stuck_after_s=600)
    sessions, alerts = run([*frames, gone], config, until=frames[-1].received_at + HOUR)
    assert sessions["CP-1:5"].status == "stuck"
    assert "stuck_session" in kinds(alerts)
    back = frame_factory(21, [2, "m9", "MeterValues", {"connectorId": 1, "transactionId": 5,
                         "meterValue": [{"sampledValue": [{"value": "11500"}]}]}], at_s=4000)
    sessions, _ = run([*frames, gone, back], config)
    assert sessions["CP-1:5"].status == "active"
    assert "recovered_from_stuck" in sessions["CP-1:5"].flags


def test_clock_timezone_offset_and_correction() -> None:
    sessions, alerts = run(load_trace("growatt/q01-q12-no-offset-begin-zero.jsonl"),
                           FlowConfig(drift_min_samples=2))
    assert "clock_timezone_offset" in kinds(alerts)
    drift = next(a for a in alerts if a.kind == "clock_timezone_offset")
    assert drift.value is not None and abs(drift.value - 7200) < 120
    session = sessions["GW-01:41"]
    assert session.started_at_raw == "2024-05-01T12:00:03"  # the charger's own text, kept
    assert session.started_at is not None
    assert abs(session.started_at - rfc3339_to_ns("2024-05-01T10:00:03Z")) < 2 * S


def _reconnects(rounds: int, boot: bool) -> list[RawFrame]:
    frames = []
    for i in range(rounds):
        frames.append(frame_factory(3 * i + 1, "{}", direction="", kind="connected",
                                    at_s=60 * i))
        first: list[Any] = [2, f"b{i}", "BootNotification", {
            "chargePointVendor": "X", "chargePointModel": "Y", "firmwareVersion": f"{i}"}] \
            if boot else [2, f"h{i}", "Heartbeat", {}]
        frames.append(frame_factory(3 * i + 2, first, at_s=60 * i + 1))
        frames.append(frame_factory(3 * i + 3, "{}", direction="", kind="disconnected",
                                    at_s=60 * i + 30))
    return frames


def test_boot_loop_is_one_alert_not_also_flapping() -> None:
    _, alerts = run(_reconnects(4, boot=True))
    assert kinds(alerts) == ["boot_loop"]
    loop = next(a for a in alerts if a.kind == "boot_loop")
    assert "after a firmware update" in loop.message


def test_reconnects_without_reboots_are_flapping() -> None:
    _, alerts = run(_reconnects(4, boot=False))
    assert kinds(alerts) == ["flapping_connection"]
    _, alerts = run(_reconnects(3, boot=False))
    assert kinds(alerts) == []
    no_ends = [f for f in _reconnects(4, boot=False) if f.record_kind != "disconnected"]
    _, alerts = run(no_ends)  # the server died under each connection: not the charger
    assert kinds(alerts) == []


def test_charger_offline_alert_after_threshold() -> None:
    frames = [frame_factory(1, "{}", direction="", kind="connected"),
              frame_factory(2, '{"code":1006}', direction="", kind="disconnected", at_s=10)]
    _, alerts = run(frames, until=frames[-1].received_at + 301 * S)
    assert kinds(alerts) == ["charger_offline"]
    _, alerts = run(frames, until=frames[-1].received_at + 200 * S)
    assert kinds(alerts) == []


def test_health_minute_is_stamped_at_its_end_plus_the_grace_however_late_it_closed() -> None:
    """A minute's row is a function of the frames, not of when the flow's watermark passed
    it: one closed late (the watermark jumped past it, as a replay's does) is the row closed
    on time, stamped at its end plus the grace (so two writes of a minute are the same)."""
    frames = load_trace("generic/q24-stop-twice-after-reboot.jsonl")
    grace = int(FlowConfig().minute_grace_s * S)
    first_end = frames[0].received_at - frames[0].received_at % (60 * S) + 60 * S
    rows = []
    for closed_at in (first_end + grace, first_end + 5 * 60 * S + grace + 17):
        pipeline = ChargerPipeline(frames[0].charge_point_id, FlowConfig())
        out = Output()
        pipeline.apply(frames[0], out)
        pipeline.advance(closed_at, out)
        rows.append(out.charger_health + [  # the silent minutes come as one run
            replace(run.first, minute=run.first.minute + k * 60 * S,
                    updated_at=run.first.updated_at + k * 60 * S)
            for run in out.minute_runs for k in range(run.count)])
    on_time, late = rows
    assert [h.updated_at for h in on_time] == [first_end + grace]
    assert late[0] == on_time[0]
    assert [h.updated_at for h in late] == [first_end + k * 60 * S + grace for k in range(6)]


def _start_on_connector_1(frame_id: int, tx: int, at_s: float) -> list[RawFrame]:
    return [frame_factory(frame_id, [2, f"s{tx}", "StartTransaction", {
        "connectorId": 1, "idTag": "T", "meterStart": 20_000,
        "timestamp": f"2024-05-01T{10 + int(at_s) // 3600:02d}:{int(at_s) % 3600 // 60:02d}:00Z"}],
        at_s=at_s),
        frame_factory(frame_id + 1, [3, f"s{tx}", {"transactionId": tx, "idTagInfo": {
            "status": "Accepted"}}], direction="out", at_s=at_s)]


def test_session_never_stopped_is_abandoned_when_its_connector_starts_another() -> None:
    first = _session_frames(["11000", "12000"])  # transaction 5 on connector 1, never stopped
    second = _start_on_connector_1(30, 6, at_s=1500)
    sessions, alerts = run([*first, *second])
    old, new = sessions["CP-1:5"], sessions["CP-1:6"]
    assert (old.status, new.status) == ("abandoned", "active")
    assert "superseded" in old.flags and old.energy_wh == 2000.0
    assert not alerts
    # Its stop turns up after all (a queue flushed late): it completes, the flag stays.
    stop = frame_factory(40, [2, "p5", "StopTransaction", {
        "transactionId": 5, "meterStop": 12_500, "timestamp": "2024-05-01T10:20:00Z"}],
        at_s=1600)
    sessions, _ = run([*first, *second, stop])
    assert sessions["CP-1:5"].status == "completed"
    assert sessions["CP-1:5"].energy_wh == 2500.0


def test_a_start_arriving_late_is_the_abandoned_one() -> None:
    """Out of order: transaction 6 (later on the charger's clock) arrives first; 5, started
    before it on the same connector and never stopped, is the abandoned one."""
    newer = _start_on_connector_1(30, 6, at_s=1500)
    older = _start_on_connector_1(40, 5, at_s=0)
    older = [replace(f, received_at=f.received_at + 1600 * S) for f in older]
    sessions, _ = run([*newer, *older])
    assert sessions["CP-1:6"].status == "active"
    assert sessions["CP-1:5"].status == "abandoned"
