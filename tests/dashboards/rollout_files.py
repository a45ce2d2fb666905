"""Hand-written rollout state files (``<data_dir>/rollouts/<id>.json``) for the Rollouts page,
as the agent would have left them, created a day apart (newest: ``fw-running``):

- ``fw-completed`` (to 2.0.0, 2026-01-01): two waves passed, its 3 chargers updated.
- ``fw-halted`` (to 9.9.9, 2026-01-02, on failure rollback): wave 1's Keba P30s boot-looped
  (gate ``boot_loop``, 2 chargers against a limit of 0); both sent the previous image (one
  rolled back, one on its way); the ABB of wave 1 updated; wave 2 never sent.
- ``fw-running`` (to 3.1.0, 2026-01-03): wave 1 soaking, wave 2 installing.
"""

from __future__ import annotations

from pathlib import Path

from canonical.rollouts import (
    ChargerState,
    ChargerTrack,
    GateLimits,
    GateName,
    GateResult,
    OnFailure,
    Rollout,
    RolloutStatus,
    Wave,
    WaveStatus,
)
from chargeline.firmware.store import rollouts_dir
from tests.warehouse.conftest import DAY, MIN, T0

S = ChargerState
# Charger-chosen text as written: underscores a Markdown renderer would make emphasis.
ODD_KEBA = "_KEBA-2_"


def rollout(rollout_id: str, created_at: int, to_version: str, **kw: object) -> Rollout:
    base = Rollout(rollout_id=rollout_id, created_at=created_at, to_version=to_version,
                   location=f"http://h/fw/{to_version}.bin", rollback_location=None,
                   on_failure=OnFailure.halt, soak_s=1800.0, install_timeout_s=3600.0,
                   limits=GateLimits(), filters={"model": None, "vendor": None,
                                                 "from_version": None},
                   updated_at=created_at + 30 * MIN)
    for key, value in kw.items():
        setattr(base, key, value)
    return base


def track(cp: str, wave: int, model: str, state: ChargerState, booted: str | None = None,
          status: str | None = None, reason: str = "", rollback: bool = False) -> ChargerTrack:
    return ChargerTrack(cp, wave, "Keba" if model == "P30" else "ABB", model, "1.2.3", state,
                        firmware_status=status, booted_version=booted, reason=reason,
                        rollback_step=f"r/rollback/{cp}" if rollback else None)


def gate(name: GateName, model: str, value: float, limit: float, unit: str, n: int,
         breached: bool = False, cps: tuple[str, ...] = ()) -> GateResult:
    return GateResult(name, model, value, limit, unit, n, breached, cps)


BOOT_LOOP = gate(GateName.boot_loop, "P30", 2, 0, "chargers", 2, True, ("KEBA-1", ODD_KEBA))


def halted() -> Rollout:
    created = T0 + DAY
    return rollout(
        "fw-halted", created, "9.9.9", on_failure=OnFailure.rollback,
        rollback_location="http://h/fw/{version}.bin", status=RolloutStatus.halted,
        waves=[Wave(0, 50.0, WaveStatus.failed, started_at=created + MIN,
                    finished_at=created + 20 * MIN,
                    gates=[BOOT_LOOP, gate(GateName.install_failed, "Terra", 0.0, 0.1,
                                           "share", 1)]),
               Wave(1, 100.0)],
        chargers=[track("KEBA-1", 0, "P30", S.rolled_back, "1.2.3", "Installed",
                        "boot loop", rollback=True),
                  track(ODD_KEBA, 0, "P30", S.rollback_sent, "9.9.9", "Installed",
                        "boot loop", rollback=True),
                  track("ABB-1", 0, "Terra", S.updated, "9.9.9", "Installed"),
                  track("ABB-2", 1, "Terra", S.pending), track("KEBA-3", 1, "P30", S.pending)],
        halt=BOOT_LOOP, halted_at=created + 20 * MIN, first_failure_at=created + 19 * MIN)


def running() -> Rollout:
    created = T0 + 2 * DAY
    return rollout(
        "fw-running", created, "3.1.0", status=RolloutStatus.running, wave=1,
        waves=[Wave(0, 25.0, WaveStatus.soaking, started_at=created + MIN,
                    gates=[gate(GateName.install_failed, "Terra", 0.0, 0.1, "share", 1)]),
               Wave(1, 100.0, WaveStatus.installing, started_at=created + 40 * MIN)],
        chargers=[track("ABB-1", 0, "Terra", S.updated, "3.1.0", "Installed"),
                  track("ABB-2", 1, "Terra", S.downloading, status="Downloading"),
                  track("ABB-3", 1, "Terra", S.failed, status="DownloadFailed",
                        reason="DownloadFailed"),
                  track("ABB-4", 1, "Terra", S.sent)])


def completed() -> Rollout:
    return rollout(
        "fw-completed", T0, "2.0.0", status=RolloutStatus.completed, wave=1,
        finished_at=T0 + 90 * MIN,
        waves=[Wave(0, 50.0, WaveStatus.passed, started_at=T0 + MIN, finished_at=T0 + 40 * MIN),
               Wave(1, 100.0, WaveStatus.passed, started_at=T0 + 41 * MIN,
                    finished_at=T0 + 90 * MIN)],
        chargers=[track(cp, w, "Terra", S.updated, "2.0.0", "Installed")
                  for cp, w in (("ABB-1", 0), ("ABB-2", 1), ("ABB-3", 1))])


def write_rollouts(data_dir: Path, *rollouts: Rollout, **raw: bytes) -> Path:
    """The rollouts' state files, and ``raw`` files as given (name without ``.json``)."""
    folder = rollouts_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for r in rollouts:
        (folder / f"{r.rollout_id}.json").write_bytes(r.to_json())
    for name, body in raw.items():
        (folder / f"{name}.json").write_bytes(body)
    return data_dir
