"""Gate arithmetic, charger tracking and wave splitting: pure, no I/O."""

from __future__ import annotations

from canonical.commands import CommandRecord
from canonical.rollouts import Baseline, ChargerState, ChargerTrack, GateLimits, GateName
from chargeline.firmware.gates import Evidence, SessionFact, first_breach, judge
from chargeline.firmware.plan import CohortMember, command_id_of, parse_waves, split_waves
from chargeline.firmware.track import Confirm, confirm, follow_update, sent

S = 1_000_000_000
T0 = 1_800_000_000 * S


def track(cp: str, state: ChargerState, model: str = "M", version: str | None = None
          ) -> ChargerTrack:
    return ChargerTrack(cp, 0, "V", model, "1.0", state=state, sent_at=T0,
                        booted_version=version)


def gates(tracks: list[ChargerTrack], evidence: dict[str, Evidence] | None = None,
          baseline: dict[str, Baseline] | None = None, now: int = T0 + 60 * S
          ) -> dict[tuple[GateName, str], tuple[float, bool]]:
    results = judge(tracks, evidence or {}, baseline or {}, GateLimits(silent_after_s=300), now)
    return {(g.gate, g.model): (g.value, g.breached) for g in results}


def test_one_failed_install_of_four_breaches_per_model_not_diluted_by_the_fleet() -> None:
    bad = [track("B1", ChargerState.failed, "bad")] + [
        track(f"B{i}", ChargerState.updated, "bad", "2.0") for i in (2, 3, 4)]
    good = [track(f"G{i}", ChargerState.updated, "good", "2.0") for i in range(30)]
    figures = gates(bad + good)
    assert figures[(GateName.install_failed, "bad")] == (0.25, True)
    assert figures[(GateName.install_failed, "good")] == (0.0, False)


def test_any_boot_loop_breaches_and_silence_counts_only_past_silent_after() -> None:
    tracks = [track("A", ChargerState.updated, version="2.0"),
              track("B", ChargerState.updated, version="2.0")]
    evidence = {"A": Evidence(boot_loop_at=T0 + 5 * S, last_heard_at=T0 + 50 * S),
                "B": Evidence(last_heard_at=T0 + 10 * S)}
    assert gates(tracks, evidence)[(GateName.boot_loop, "M")] == (1, True)
    assert gates(tracks, evidence)[(GateName.not_back_online, "M")] == (0.0, False)
    later = gates(tracks, evidence, now=T0 + 10 * S + 301 * S)
    assert later[(GateName.not_back_online, "M")] == (0.5, True)


def test_sessions_after_the_update_against_the_baseline() -> None:
    tracks = [track("A", ChargerState.updated, version="2.0")]
    boots = [(T0 + 10 * S, "2.0")]
    ok = SessionFact(T0 + 20 * S, True, True, False)
    bad = SessionFact(T0 + 30 * S, True, False, True)
    before = SessionFact(T0 - 99 * S, True, False, True)  # before the boot on 2.0: not counted
    base = {"M": Baseline(100, 0.95, 0.0)}
    few = gates(tracks, {"A": Evidence(boots=boots, sessions=[ok, bad, before])}, base)
    assert few[(GateName.session_success, "M")] == (0.45, False)  # 2 < min_sessions 5
    assert few[(GateName.metering, "M")] == (0.5, True)  # one flagged: a scale change shows
    many = gates(tracks, {"A": Evidence(boots=boots, sessions=[ok] * 3 + [bad] * 3)}, base)
    assert many[(GateName.session_success, "M")] == (0.45, True)
    clean = judge(tracks, {"A": Evidence(boots=boots, sessions=[ok] * 6)}, base, GateLimits(),
                  T0 + 60 * S)
    assert first_breach(clean) is None


def test_a_charger_is_followed_to_its_boot_on_the_version_or_to_its_failure() -> None:
    t = track("A", ChargerState.sent)
    e = Evidence(statuses=[(T0 + S, "Downloading"), (T0 + 2 * S, "Downloaded"),
                           (T0 + 3 * S, "Installing")])
    assert follow_update(t, e, "2.0", 600, T0 + 4 * S) and t.state == ChargerState.installing
    e.boots.append((T0 + 5 * S, "2.0"))  # never said Installed: the boot is the proof
    assert follow_update(t, e, "2.0", 600, T0 + 6 * S) and t.state == ChargerState.updated
    failing = track("B", ChargerState.sent)
    follow_update(failing, Evidence(statuses=[(T0 + S, "InstallationFailed")]), "2.0", 600,
                  T0 + 2 * S)
    assert (failing.state, failing.reason) == (ChargerState.failed,
                                               "FirmwareStatusNotification InstallationFailed")
    old = track("C", ChargerState.sent)
    follow_update(old, Evidence(statuses=[(T0 + S, "Installed")], boots=[(T0 + 2 * S, "1.0")]),
                  "2.0", 600, T0 + 3 * S)
    assert old.state == ChargerState.failed and "booted on 1.0" in old.reason
    mute = track("D", ChargerState.sent)
    follow_update(mute, Evidence(), "2.0", 600, T0 + 601 * S)
    assert mute.state == ChargerState.failed and "within 600 s" in mute.reason


def test_outcomes_offline_is_pending_again_rejected_fails() -> None:
    def record(outcome: str, status: str | None) -> CommandRecord:
        return CommandRecord("id", "A", "ocpp2.0.1", "UpdateFirmware", "{}", "firmware", "",
                             T0, T0 + 1, T0 + 2, outcome, status, None, None, "r")

    states = []
    for outcome, status in [("offline", None), ("answered", "Rejected"),
                            ("answered", "Accepted"), ("answered", None), ("timeout", None)]:
        t = track("A", ChargerState.sending)
        sent(t, record(outcome, status))
        states.append(t.state)
    assert states == [ChargerState.pending, ChargerState.failed, ChargerState.sent,
                      ChargerState.sent, ChargerState.sent]


def test_waves_are_taken_per_model_and_keys_are_stable() -> None:
    members = [CohortMember(f"{m}{i:03d}", "V", m, "1.0") for m in "AB" for i in range(67)]
    members += [CohortMember("C000", "V", "C", "1.0")]
    tracks = split_waves(members, parse_waves("5%,25%,100%"))
    per = {(m, w): sum(t.model == m and t.wave == w for t in tracks)
           for m in "ABC" for w in range(3)}
    assert [per[("A", w)] for w in range(3)] == [4, 13, 50]
    assert [per[("C", w)] for w in range(3)] == [1, 0, 0]
    assert command_id_of("r/w0/A000") == command_id_of("r/w0/A000") != command_id_of("r/w1/A000")
    assert len(command_id_of("r/w0/A000")) <= 36


def test_an_unconfirmed_send_is_asked_about_and_sent_again_only_if_never_taken() -> None:
    t = track("A", ChargerState.sent)
    t.unconfirmed, now = True, T0 + 10 * S
    idle = Evidence(statuses=[(T0 + 12 * S, "Idle")])
    assert confirm(t, Evidence(), now, None, connected=False) == Confirm.wait
    assert confirm(t, Evidence(), now, T0 + 3600 * S, True) == Confirm.wait  # not due: 1.6 Idle
    assert confirm(t, Evidence(), now, None, True) == Confirm.probe
    t.probed_at = now
    assert confirm(t, Evidence(), now + S, None, True) == Confirm.wait
    assert confirm(t, idle, now + 3 * S, None, True) == Confirm.resend
    assert confirm(t, Evidence(), now + 31 * S, None, True) == Confirm.probe  # answer lost
    for taken in (Evidence(statuses=[(T0 + S, "Downloading")]),
                  Evidence(boots=[(T0 + S, "2.0")]),
                  Evidence(statuses=[(T0 + S, "Downloading"), (T0 + 12 * S, "Idle")])):
        assert confirm(t, taken, now + 3 * S, None, True) == Confirm.taken
