"""The health gates between waves: pure arithmetic over one wave's chargers and their
evidence, judged per model (a bad image usually hits one hardware model; a wave-wide share
would dilute it by the fleet's mix). docs/firmware.md gives the defaults and why.

Continuous: ``judge`` is called on every look at a wave, from its first send. Failures only
accumulate, so a breach halts as soon as the evidence shows it; passing needs the soak.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from canonical.enums import HOLDS_BILLING, SessionFlag, SessionStatus
from canonical.rollouts import (
    HAS_IMAGE,
    Baseline,
    ChargerState,
    ChargerTrack,
    GateLimits,
    GateName,
    GateResult,
)

S = 1_000_000_000
_METERING = frozenset({SessionFlag.meter_unit_error.value, SessionFlag.meter_implausible.value})
_HOLDS = frozenset(f.value for f in HOLDS_BILLING)


def session_ok(status: str, flags: Iterable[str] | None) -> bool:
    """A session that went right: completed and nothing holds its bill."""
    return status == SessionStatus.completed and not _HOLDS.intersection(flags or ())


def metering_flagged(flags: Iterable[str] | None) -> bool:
    """The reconciliation doubted its meter: a unit/scale error or energy beyond physics."""
    return bool(_METERING.intersection(flags or ()))


@dataclass(frozen=True, slots=True)
class SessionFact:
    started_at: int
    finished: bool
    ok: bool
    metering: bool


@dataclass(slots=True)
class Evidence:
    """What the warehouse says of one charger since its UpdateFirmware was sent."""

    statuses: list[tuple[int, str]] = field(default_factory=list)   # (at, status)
    boots: list[tuple[int, str | None]] = field(default_factory=list)  # (at, version)
    boot_loop_at: int | None = None
    last_heard_at: int | None = None
    sessions: list[SessionFact] = field(default_factory=list)


def judge(tracks: list[ChargerTrack], evidence: dict[str, Evidence],
          baseline: dict[str, Baseline], limits: GateLimits, now: int) -> list[GateResult]:
    """Every gate for every model of the wave (chargers sent the image only)."""
    sent = [t for t in tracks if t.state not in (ChargerState.pending, ChargerState.sending,
                                                  ChargerState.skipped)]
    results: list[GateResult] = []
    for model in sorted({t.model for t in sent}):
        group = [t for t in sent if t.model == model]
        base = baseline.get(model, Baseline())
        results += [_install_failed(model, group, limits),
                    _boot_loops(model, group, evidence, limits),
                    _not_back(model, group, evidence, limits, now),
                    _session_success(model, group, evidence, base, limits),
                    _metering(model, group, evidence, base, limits)]
    return results


def _install_failed(model: str, group: list[ChargerTrack], limits: GateLimits) -> GateResult:
    failed = tuple(t.charge_point_id for t in group if t.state == ChargerState.failed)
    share = len(failed) / len(group)
    return GateResult(GateName.install_failed, model, round(share, 4),
                      limits.install_failed_share, "share", len(group),
                      share > limits.install_failed_share, failed)


def _boot_loops(model: str, group: list[ChargerTrack], evidence: dict[str, Evidence],
                limits: GateLimits) -> GateResult:
    looping = tuple(t.charge_point_id for t in group
                    if _of(evidence, t).boot_loop_at is not None)
    return GateResult(GateName.boot_loop, model, len(looping), limits.boot_loops, "chargers",
                      len(group), len(looping) > limits.boot_loops, looping)


def _not_back(model: str, group: list[ChargerTrack], evidence: dict[str, Evidence],
              limits: GateLimits, now: int) -> GateResult:
    """Silent ``silent_after_s`` (since its send, its last frame, whichever is later)."""
    wait = int(limits.silent_after_s * S)
    silent = tuple(t.charge_point_id for t in group
                   if t.state in HAS_IMAGE | {ChargerState.failed}
                   and now - max(t.sent_at or 0, _of(evidence, t).last_heard_at or 0) > wait)
    share = len(silent) / len(group)
    return GateResult(GateName.not_back_online, model, round(share, 4), limits.not_back_share,
                      "share", len(group), share > limits.not_back_share, silent)


def _after_update(group: list[ChargerTrack], evidence: dict[str, Evidence]
                  ) -> list[tuple[str, SessionFact]]:
    """Sessions that started on the new image: after the charger's first boot on it."""
    out = []
    for t in group:
        e = _of(evidence, t)
        on_new = [at for at, version in e.boots if version == t.booted_version
                  and t.state == ChargerState.updated]
        if on_new:
            out += [(t.charge_point_id, s) for s in e.sessions if s.started_at >= min(on_new)]
    return out


def _session_success(model: str, group: list[ChargerTrack], evidence: dict[str, Evidence],
                     base: Baseline, limits: GateLimits) -> GateResult:
    done = [(cp, s) for cp, s in _after_update(group, evidence) if s.finished]
    if not done or base.success_share is None:
        return GateResult(GateName.session_success, model, 0.0, limits.session_success_drop,
                          "points", len(done), False, baseline=base.success_share)
    share = sum(s.ok for _, s in done) / len(done)
    drop = base.success_share - share
    breached = len(done) >= limits.min_sessions and drop > limits.session_success_drop
    return GateResult(GateName.session_success, model, round(drop, 4),
                      limits.session_success_drop, "points", len(done), breached,
                      tuple(sorted({cp for cp, s in done if not s.ok})), base.success_share)


def _metering(model: str, group: list[ChargerTrack], evidence: dict[str, Evidence],
              base: Baseline, limits: GateLimits) -> GateResult:
    after = _after_update(group, evidence)
    flagged = tuple(sorted({cp for cp, s in after if s.metering}))
    share = sum(s.metering for _, s in after) / len(after) if after else 0.0
    rise = share - (base.metering_share or 0.0)
    return GateResult(GateName.metering, model, round(rise, 4), limits.metering_rise, "points",
                      len(after), bool(flagged) and rise > limits.metering_rise, flagged,
                      base.metering_share)


def _of(evidence: dict[str, Evidence], t: ChargerTrack) -> Evidence:
    return evidence.get(t.charge_point_id) or Evidence()


def first_breach(results: list[GateResult]) -> GateResult | None:
    return next((g for g in results if g.breached), None)
