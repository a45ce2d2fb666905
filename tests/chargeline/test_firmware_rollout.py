"""Firmware rollouts end to end over real wire: a real ``chargeline serve`` with its rollout
agent, a real ``chargeline flow``, simulated chargers of 3 models (``chargeline simulate``)
fetching their images over HTTP; one model boot-loops on the new image."""

from __future__ import annotations

import contextlib
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.firmware import BAD_MODEL, TO, Bench, Depot, bench, settled
from canonical.enums import AlertKind, Direction, MessageType
from canonical.rollouts import ChargerState, GateName, Rollout, RolloutStatus
from chargeline.firmware import store
from chargeline.firmware.plan import step_key
from tests.ingest.conftest import journal_frames
from warehouse.catalog import connect, query

SPEED = 1500.0
GATES = ("--soak", "2", "--install-timeout", "60", "--silent-after", "10")


@contextlib.contextmanager
def fleet(tmp_path: Path, chargers: int, bad: str | None) -> Iterator[tuple[Bench, Depot]]:
    """``bench.firmware.bench`` with its simulator ended by SIGKILL when the test is done:
    ``chargeline simulate`` lets its chargers run out their ``--duration`` (3,600 s here) after
    a SIGINT, so ``Bench.close`` waited its 15 s for nothing, then killed it. Its truth file,
    the only thing a clean exit adds, is not read here."""
    with bench(chargers, SPEED, bad, keep=tmp_path / "d") as (b, depot):
        try:
            yield b, depot
        finally:
            if b.sim is not None and b.sim.poll() is None:
                b.sim.send_signal(signal.SIGKILL)
                b.sim.wait()


def update_calls(data_dir: Path) -> list[tuple[str, str]]:
    """(charger, location) of every UpdateFirmware CALL that went out, from the journal."""
    import orjson

    return [(f.charge_point_id, orjson.loads(f.raw)[3]["location"])
            for f in journal_frames(data_dir) if f.direction == Direction.outbound
            and f.message_type == MessageType.call and f.action == "UpdateFirmware"]


def sent_twice_only_if_never_taken(data_dir: Path) -> tuple[Counter[str], set[str]]:
    """UpdateFirmware CALLs per charger, and the chargers sent one twice. A second one is
    allowed only after a first that went unanswered (serve killed between the CALL and its
    answer) and of which the charger showed nothing (no firmware progress between the two):
    it never had it."""
    frames = journal_frames(data_dir)
    answered = {f.message_id for f in frames if f.direction == Direction.inbound
                and f.message_type in (MessageType.call_result, MessageType.call_error)}
    calls: dict[str, list[int]] = {}
    for f in frames:
        if f.direction == Direction.outbound and f.message_type == MessageType.call \
                and f.action == "UpdateFirmware":
            calls.setdefault(f.charge_point_id, []).append(f.frame_id)
            assert len(calls[f.charge_point_id]) == 1 or f.message_id in answered
    ids = {f.frame_id: f.message_id for f in frames}
    twice = {cp for cp, c in calls.items() if len(c) == 2}
    for cp in twice:
        first, second = calls[cp]
        assert ids[first] not in answered, cp
        assert not [f for f in frames if f.charge_point_id == cp and first < f.frame_id < second
                    and f.action == "FirmwareStatusNotification" and f.message_type == 2
                    and '"Idle"' not in f.raw], cp
    return Counter({cp: len(c) for cp, c in calls.items()}), twice


def alerts(data_dir: Path, kind: AlertKind, timeout_s: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        con = connect(data_dir)
        try:
            rows = query(con, data_dir, "select * from alerts where kind = $k",
                         {"k": kind.value}).to_pylist()
        except Exception:
            rows = []
        finally:
            con.close()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def test_a_bad_image_halts_after_the_bad_models_first_wave_and_is_rolled_back(
        tmp_path: Path) -> None:
    with fleet(tmp_path, 12, f"{TO}:boot_loop@{BAD_MODEL}") as (b, depot):
        rid = b.plan(depot, "--waves", "50%,100%", "--on-failure", "rollback", *GATES)
        r = b.wait(rid, settled, 120)
        assert r.status == RolloutStatus.halted and r.wave == 0
        assert r.halt is not None and r.halt.gate == GateName.boot_loop
        assert BAD_MODEL in r.halt.charge_point_ids[0].lower()
        calls = update_calls(b.data_dir)
        new = {cp for cp, location in calls if location.endswith(f"/{TO}.bin")}
        assert new == {t.charge_point_id for t in r.in_wave(0)}, "wave 2 never sent"
        assert sum(BAD_MODEL in cp.lower() for cp in new) == 2  # the bad model's first wave
        back = {cp: location for cp, location in calls if not location.endswith(f"/{TO}.bin")}
        assert set(back) == new  # the previous image to every charger of the failing wave
        for t in r.in_wave(0):
            assert back[t.charge_point_id].endswith(f"/{t.from_version}.bin")
        assert Counter(t.state for t in r.in_wave(0))[ChargerState.rolled_back] >= 4
        halted = alerts(b.data_dir, AlertKind.firmware_rollout_halted)
        assert [a["alert_id"] for a in halted] == [
            f"{r.halt.charge_point_ids[0]}:firmware_rollout_halted:{rid}"]
        assert halted[0]["severity"] == "critical"


def kill_when_sending(b: Bench, rid: str) -> Rollout:
    """SIGKILL serve as soon as the first wave's commands are going out."""
    while True:
        r = store.load(b.data_dir, rid)
        if any(t.state != ChargerState.pending for t in r.in_wave(0)):
            b.kill_serve()
            return r
        time.sleep(0.01)


def test_pause_resume_kill_serve_mid_rollout_sends_nothing_twice_and_abort(
        tmp_path: Path) -> None:
    with fleet(tmp_path, 9, None) as (b, depot):
        # silent-after 60: serve's own restart (the chargers' redial backoff, slower under
        # load) is no silence
        # the gates are not this test's subject: none may halt it (a kill mid-session and
        # the redial make a loaded machine's figures noisy)
        rid = b.plan(depot, "--waves", "34%,100%", "--paused", *GATES, "--silent-after", "60",
                     "--max-failed-share", "1", "--max-not-back-share", "1",
                     "--max-success-drop", "1", "--max-metering-rise", "1",
                     "--max-boot-loops", "1000")
        time.sleep(1.5)
        assert store.load(b.data_dir, rid).status == RolloutStatus.paused
        assert update_calls(b.data_dir) == []
        b.run_cli("firmware", "resume", rid)
        at_kill = kill_when_sending(b, rid)
        b.start_serve()
        r = b.wait(rid, settled, 120)
        assert r.status == RolloutStatus.completed, (r.halt, [w.gates for w in r.waves])
        assert all(t.state == ChargerState.updated for t in r.chargers), [
            (t.charge_point_id, t.wave, t.state, t.reason, t.answer, t.firmware_status,
             t.booted_version) for t in r.chargers if t.state != ChargerState.updated]
        assert any(t.state != ChargerState.pending for t in at_kill.in_wave(0))
        assert [w.status for w in r.waves] == ["passed", "passed"]
        # once each; a CALL serve died on may never have reached its charger: asked, and
        # sent again only if it showed nothing of it
        calls, twice = sent_twice_only_if_never_taken(b.data_dir)
        assert calls == Counter({t.charge_point_id: 1 + (t.charge_point_id in twice)
                                 for t in r.chargers})
        assert twice <= {t.charge_point_id for t in at_kill.in_wave(0)}
        steps = {t.step for t in r.chargers}
        assert steps == {step_key(rid, t.wave, t.charge_point_id) for t in r.chargers}
        other = b.plan(depot, "--waves", "100%", "--paused", *GATES, to="10.0.0")
        b.run_cli("firmware", "abort", other)
        aborted = b.wait(other, lambda r: r.status == RolloutStatus.aborted, 20)
        assert aborted.status == RolloutStatus.aborted
        time.sleep(1.5)
        assert len(update_calls(b.data_dir)) == len(r.chargers) + len(twice)  # none new
