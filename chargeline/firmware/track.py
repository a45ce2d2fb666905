"""Following one charger through its update (or rollback) from the evidence: pure.

A charger's state is re-derived on every look from what the warehouse holds since the
command was sent (evidence only grows, so the state only moves forward): the
FirmwareStatusNotifications in order, then the proof — a BootNotification carrying the
target version. Some chargers never say ``Installed``: the boot is enough. A boot on another
version after Installing/Installed means the install did not take. No proof within the
install timeout: failed.
"""

from __future__ import annotations

from enum import StrEnum

from canonical.commands import CommandOutcome, CommandRecord
from canonical.rollouts import HAS_IMAGE, ChargerState, ChargerTrack
from chargeline.firmware.gates import Evidence

S = 1_000_000_000

#: 1.6 FirmwareStatus and 2.0.1 FirmwareStatusEnumType values that end an update badly.
FAILURES = frozenset({"DownloadFailed", "InstallationFailed", "InvalidSignature",
                      "InstallVerificationFailed"})
PROGRESS: dict[str, ChargerState] = {
    "DownloadScheduled": ChargerState.downloading, "Downloading": ChargerState.downloading,
    "DownloadPaused": ChargerState.downloading, "Downloaded": ChargerState.downloaded,
    "SignatureVerified": ChargerState.downloaded, "InstallScheduled": ChargerState.installing,
    "Installing": ChargerState.installing, "InstallRebooting": ChargerState.installing,
    "Installed": ChargerState.installed}
_INSTALLING = frozenset({ChargerState.installing, ChargerState.installed})
#: UpdateFirmware answers that take the update (1.6 answers with no status at all).
_ACCEPTED = {None, "Accepted", "AcceptedCanceled"}


def follow_update(t: ChargerTrack, e: Evidence, to_version: str, timeout_s: float,
                  now: int) -> bool:
    """Move ``t`` (sent … updated) along its evidence; True when its state changed."""
    if t.state not in HAS_IMAGE or t.sent_at is None:
        return False
    before = t.state
    state, status, version, failure = _walk(e, to_version, ChargerState.sent)
    t.firmware_status, t.booted_version = status or t.firmware_status, version
    if failure is not None:
        _fail(t, ChargerState.failed, failure[0], failure[1])
    elif state != ChargerState.updated and now - t.sent_at > timeout_s * S:
        _fail(t, ChargerState.failed, now, f"no boot on {to_version} within {timeout_s:g} s")
    else:
        t.state = state
    if t.state != before:
        t.changed_at = now
    return t.state != before


def follow_rollback(t: ChargerTrack, e: Evidence, timeout_s: float, now: int) -> bool:
    """Move ``t`` (rollback_sent) to rolled_back (booted on its previous version) or
    rollback_failed; True when its state changed."""
    if t.state != ChargerState.rollback_sent or t.rollback_sent_at is None \
            or t.from_version is None:
        return False
    state, status, version, failure = _walk(e, t.from_version, ChargerState.sent)
    t.firmware_status, t.booted_version = status or t.firmware_status, version
    if state == ChargerState.updated:
        t.state = ChargerState.rolled_back
    elif failure is not None:
        _fail(t, ChargerState.rollback_failed, failure[0], failure[1])
    elif now - t.rollback_sent_at > timeout_s * S:
        _fail(t, ChargerState.rollback_failed, now,
              f"no boot on {t.from_version} within {timeout_s:g} s")
    else:
        return False
    t.changed_at = now
    return True


def _walk(e: Evidence, target: str, start: ChargerState
          ) -> tuple[ChargerState, str | None, str | None, tuple[int, str] | None]:
    """(state, last status, last booted version, (at, failure) or None) after the evidence
    in time order."""
    state, status, version = start, None, None
    steps = sorted([(at, 0, s) for at, s in e.statuses] + [(at, 1, v or "") for at, v in e.boots])
    for at, kind, value in steps:
        if kind == 0:
            status = value
            if value in FAILURES:
                return state, status, version, (at, f"FirmwareStatusNotification {value}")
            state = PROGRESS.get(value, state)
            continue
        version = value or None
        if value == target:
            return ChargerState.updated, status, version, None
        if state in _INSTALLING:
            return state, status, version, (at, f"booted on {value or '?'} after {status}")
    return state, status, version, None


class Confirm(StrEnum):
    """What to do with an unconfirmed UpdateFirmware (serve stopped between its CALL and the
    answer: the CALL may never have left, or the charger may not have taken it)."""

    taken = "taken"      # evidence of the update since the send: it was taken
    probe = "probe"      # ask: TriggerMessage FirmwareStatusNotification
    resend = "resend"    # asked, and it said Idle with no update under way: it never had it
    wait = "wait"        # not yet (offline, download not due yet, the probe's answer pending)


#: Patience for the probe's FirmwareStatusNotification to reach the warehouse.
PROBE_WAIT_S = 30.0


def confirm(t: ChargerTrack, e: Evidence, now: int, retrieve_at: int | None,
            connected: bool) -> Confirm:
    """The next step for an unconfirmed send. A charger that took an UpdateFirmware reports
    progress (1.6 and 2.0.1 chargers send Downloading first) or boots; one whose download is
    due and that says ``Idle`` when asked never had it, and gets it again. Until the
    retrieve date a 1.6 charger says Idle anyway (1.6 has no DownloadScheduled): no probe then.
    A charger that refuses the trigger is left to the install timeout."""
    if any(status != "Idle" for _, status in e.statuses) or e.boots:
        return Confirm.taken
    if not connected or (retrieve_at is not None and now < retrieve_at):
        return Confirm.wait
    if t.probed_at is None:
        return Confirm.probe
    if any(at >= t.probed_at for at, status in e.statuses):
        return Confirm.resend
    if now - t.probed_at > PROBE_WAIT_S * S:
        return Confirm.probe  # the trigger or its answer was lost: ask again
    return Confirm.wait


def _fail(t: ChargerTrack, state: ChargerState, at: int, reason: str) -> None:
    t.state, t.failed_at, t.reason = state, at, reason


def sent(t: ChargerTrack, record: CommandRecord) -> None:
    """An UpdateFirmware's outcome on its charger's track."""
    t.answer = f"{record.outcome} {record.status or ''}".strip()
    outcome = CommandOutcome(record.outcome)
    if outcome == CommandOutcome.offline:  # nothing went out: tried again while it may
        t.state, t.reason = ChargerState.pending, record.reason
    elif outcome == CommandOutcome.timeout or (outcome == CommandOutcome.answered
                                                and record.status in _ACCEPTED):
        t.state, t.sent_at = ChargerState.sent, record.sent_at or record.finished_at
    else:
        t.state, t.failed_at = ChargerState.failed, record.finished_at
        t.sent_at = record.sent_at or record.finished_at
        t.reason = record.reason or f"UpdateFirmware {record.status}"


def rolled(t: ChargerTrack, record: CommandRecord, back: ChargerState) -> None:
    """A rollback's outcome: offline (nothing sent) leaves the charger to be tried again."""
    t.answer = f"{record.outcome} {record.status or ''}".strip()
    outcome = CommandOutcome(record.outcome)
    if outcome == CommandOutcome.offline:
        t.state = back
    elif outcome == CommandOutcome.timeout or (outcome == CommandOutcome.answered
                                                and record.status in _ACCEPTED):
        t.state = ChargerState.rollback_sent
        t.rollback_sent_at = record.sent_at or record.finished_at
    else:
        t.state, t.reason = ChargerState.rollback_failed, record.reason or str(record.status)
