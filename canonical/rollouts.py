"""Firmware rollouts: the state one rollout keeps (``<data_dir>/rollouts/<id>.json``) and the
``rollout`` journal records its agent writes (``RecordKind.rollout``).

The state file is the rollout's whole truth for a reader (``chargeline firmware status``, a
dashboard page): ``Rollout.to_json`` / ``Rollout.from_json``; every time is UTC ns since the
epoch (an integer, as the Arrow tables keep them), null when not yet known.
docs/firmware.md documents every field and the state machines.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from canonical.arrow import UtcNs

FORMAT = 1


class RolloutStatus(StrEnum):
    planned = "planned"        # written by ``chargeline firmware rollout``, not started yet
    running = "running"
    paused = "paused"          # nothing new is sent; waves under way are still judged
    halted = "halted"          # a gate was breached: nothing more is sent (but a rollback)
    completed = "completed"    # every wave passed its gates
    aborted = "aborted"        # an operator stopped it: nothing more is sent or judged


class WaveStatus(StrEnum):
    pending = "pending"
    sending = "sending"        # UpdateFirmware going out
    installing = "installing"  # waiting for every charger's proof (or the install timeout)
    soaking = "soaking"        # all settled; gates judged until ``soak_until``
    passed = "passed"
    failed = "failed"          # a gate breached in this wave: the rollout halted


class ChargerState(StrEnum):
    """One charger's way through a rollout (docs/firmware.md draws it)."""

    pending = "pending"
    sending = "sending"                    # intent saved, UpdateFirmware not known sent
    sent = "sent"                          # UpdateFirmware answered (Accepted / no status)
    downloading = "downloading"
    downloaded = "downloaded"
    installing = "installing"
    installed = "installed"                # said Installed, not yet booted on the version
    updated = "updated"                    # booted with the target version: the proof
    failed = "failed"                      # refused, download/install failure, no proof
    skipped = "skipped"                    # offline when its wave went out: never sent
    rollback_sending = "rollback_sending"
    rollback_sent = "rollback_sent"
    rolled_back = "rolled_back"            # booted with its previous version again
    rollback_failed = "rollback_failed"


#: States in which the charger may be running (or about to run) the new image.
HAS_IMAGE = frozenset({ChargerState.sent, ChargerState.downloading, ChargerState.downloaded,
                       ChargerState.installing, ChargerState.installed,
                       ChargerState.updated})
#: States a wave waits on before its soak starts.
IN_FLIGHT = HAS_IMAGE - {ChargerState.updated} | {ChargerState.sending}


class GateName(StrEnum):
    """The health gates between waves (``chargeline.firmware.gates``)."""

    install_failed = "install_failed"      # share of the wave's chargers failed to update
    boot_loop = "boot_loop"                # chargers with a boot_loop alert after the send
    not_back_online = "not_back_online"    # share silent past ``silent_after_s``
    session_success = "session_success"    # drop of session success rate vs the baseline
    metering = "metering"                  # rise of sessions with meter unit/plausibility flags


class OnFailure(StrEnum):
    halt = "halt"
    rollback = "rollback"   # halt, and send the previous image to the failing wave's chargers


class OperatorRequest(StrEnum):
    """What ``chargeline firmware pause|resume|abort`` asks (``<id>.control.json``)."""

    pause = "pause"
    resume = "resume"
    abort = "abort"


class RolloutEvent(StrEnum):
    """What a ``rollout`` journal record says happened."""

    wave_started = "wave_started"
    halted = "halted"
    rollback_started = "rollback_started"
    paused = "paused"
    resumed = "resumed"
    aborted = "aborted"
    completed = "completed"


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's figure for one model of one wave. ``value`` and ``limit`` in ``unit``
    (``share`` 0..1, ``chargers``, ``points`` of a share); ``n`` the chargers or sessions
    it was judged over; ``breached`` when the value passed the limit."""

    gate: GateName
    model: str
    value: float
    limit: float
    unit: str
    n: int
    breached: bool
    charge_point_ids: tuple[str, ...] = ()   # the chargers behind a breach
    baseline: float | None = None


@dataclass(frozen=True, slots=True)
class RolloutNote:
    """A ``rollout`` journal record's text. ``halt`` is the breach for ``halted`` (the flow
    makes it a ``firmware_rollout_halted`` alert)."""

    rollout_id: str
    event: RolloutEvent
    wave: int
    to_version: str
    at: UtcNs
    halt: GateResult | None = None
    first_failure_at: UtcNs | None = None

    def to_json(self) -> str:
        return orjson.dumps(dataclasses.asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> RolloutNote:
        data: dict[str, Any] = orjson.loads(text)
        halt = data.get("halt")
        return cls(data["rollout_id"], RolloutEvent(data["event"]), int(data["wave"]),
                   data["to_version"], int(data["at"]),
                   gate_of(halt) if halt else None, data.get("first_failure_at"))


def gate_of(data: dict[str, Any]) -> GateResult:
    return GateResult(**(data | {"gate": GateName(data["gate"]),
                                 "charge_point_ids": tuple(data.get("charge_point_ids", ()))}))


@dataclass(frozen=True, slots=True)
class GateLimits:
    """Where each gate breaches (docs/firmware.md says why these defaults)."""

    install_failed_share: float = 0.10
    boot_loops: int = 0
    not_back_share: float = 0.10
    session_success_drop: float = 0.20   # points of share below the baseline
    min_sessions: int = 5                # sessions after the update before it is judged
    metering_rise: float = 0.05          # points of share above the baseline
    silent_after_s: float = 900.0        # no frame this long: not back online


@dataclass(slots=True)
class Baseline:
    """A model's sessions before the rollout: finished ones, success and metering shares."""

    sessions: int = 0
    success_share: float | None = None
    metering_share: float | None = None


@dataclass(slots=True)
class ChargerTrack:
    """One charger of the rollout. ``step`` is the stable key its UpdateFirmware (and
    rollback) carries in the ``commands`` view; ``command_id`` the CALL's message id."""

    charge_point_id: str
    wave: int
    vendor: str | None
    model: str
    from_version: str | None
    state: ChargerState = ChargerState.pending
    step: str | None = None
    command_id: str | None = None
    sent_at: UtcNs | None = None
    answer: str | None = None           # outcome/status of the last command
    firmware_status: str | None = None  # latest FirmwareStatusNotification status
    booted_version: str | None = None   # firmware of the latest boot after the send
    changed_at: UtcNs | None = None     # when ``state`` last changed
    failed_at: UtcNs | None = None
    reason: str = ""
    rollback_step: str | None = None
    rollback_command_id: str | None = None
    rollback_sent_at: UtcNs | None = None
    unconfirmed: bool = False           # UpdateFirmware went out, its answer never came back
    probed_at: UtcNs | None = None      # TriggerMessage FirmwareStatusNotification sent


@dataclass(slots=True)
class Wave:
    index: int
    percent: float
    status: WaveStatus = WaveStatus.pending
    started_at: UtcNs | None = None
    settled_at: UtcNs | None = None     # every charger updated or failed
    soak_until: UtcNs | None = None
    finished_at: UtcNs | None = None
    journal_after: int = 0              # frame id before its wave_started record
    gates: list[GateResult] = field(default_factory=list)


@dataclass(slots=True)
class Rollout:
    rollout_id: str
    created_at: UtcNs
    to_version: str
    location: str
    rollback_location: str | None       # ``{version}`` replaced by the charger's previous
    on_failure: OnFailure
    soak_s: float
    install_timeout_s: float
    limits: GateLimits
    filters: dict[str, str | None]
    retrieve_at: UtcNs | None = None
    signing_certificate: str | None = None   # 2.0.1 signed firmware (PEM)
    signature: str | None = None              # 2.0.1 signed firmware (base64)
    status: RolloutStatus = RolloutStatus.planned
    wave: int = 0
    waves: list[Wave] = field(default_factory=list)
    chargers: list[ChargerTrack] = field(default_factory=list)
    baseline: dict[str, Baseline] = field(default_factory=dict)
    halt: GateResult | None = None
    first_failure_at: UtcNs | None = None
    halted_at: UtcNs | None = None
    finished_at: UtcNs | None = None
    updated_at: UtcNs | None = None
    operator_at: UtcNs | None = None    # the last operator request applied (its ``at``)
    format: int = FORMAT

    def in_wave(self, index: int) -> list[ChargerTrack]:
        return [c for c in self.chargers if c.wave == index]

    def to_json(self) -> bytes:
        return orjson.dumps(dataclasses.asdict(self), option=orjson.OPT_INDENT_2)

    @classmethod
    def from_json(cls, text: bytes | str) -> Rollout:
        d: dict[str, Any] = orjson.loads(text)
        if d.get("format") != FORMAT:
            raise ValueError(f"rollout format {d.get('format')!r}, this reads {FORMAT}")
        d["on_failure"], d["status"] = OnFailure(d["on_failure"]), RolloutStatus(d["status"])
        d["limits"] = GateLimits(**d["limits"])
        d["halt"] = gate_of(d["halt"]) if d.get("halt") else None
        d["baseline"] = {m: Baseline(**b) for m, b in d["baseline"].items()}
        d["chargers"] = [ChargerTrack(**(c | {"state": ChargerState(c["state"])}))
                         for c in d["chargers"]]
        d["waves"] = [Wave(**(w | {"status": WaveStatus(w["status"]),
                                   "gates": [gate_of(g) for g in w["gates"]]}))
                      for w in d["waves"]]
        return cls(**d)
