"""The rollout agent: runs beside ``serve`` (in its event loop) and drives every rollout of
``<data_dir>/rollouts`` through the command desk (docs/firmware.md).

Each look (every ``poll_s``): the operator's request (pause, resume, abort), then the current
wave — start it (a ``wave_started`` journal record), send UpdateFirmware to its chargers,
follow them on the warehouse's evidence, judge the gates; a breach halts the rollout (a
``halted`` journal record, which the flow makes a ``firmware_rollout_halted`` alert) and, with
``on_failure=rollback``, sends the previous image to the wave's chargers that took the new one.

Sending nothing twice: before a command goes out its intent (state ``sending``, the step key
and the CALL's message id derived from it) is saved durably. After a restart an intent is
settled from the journal, read from the wave's ``wave_started`` record on: the command's
record (its outcome), else its CALL (sent, answer unknown), else it was never sent and goes
out now, under the same message id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from canonical.commands import CommandOrigin, CommandRecord
from canonical.enums import Direction, ParseStatus, Protocol, RecordKind
from canonical.raw import RawFrame, ns_to_rfc3339
from canonical.rollouts import (
    HAS_IMAGE,
    IN_FLIGHT,
    ChargerState,
    ChargerTrack,
    GateName,
    GateResult,
    OnFailure,
    OperatorRequest,
    Rollout,
    RolloutEvent,
    RolloutNote,
    RolloutStatus,
    WaveStatus,
)
from chargeline.agents import every
from chargeline.firmware import store
from chargeline.firmware.evidence import read_evidence
from chargeline.firmware.gates import Evidence, first_breach, judge
from chargeline.firmware.intents import settle_intents
from chargeline.firmware.plan import (
    command_id_of,
    previous_location,
    step_key,
    update_payload,
)
from chargeline.firmware.track import Confirm, confirm, follow_rollback, follow_update, rolled, sent
from ingest.commands import CommandDesk, CommandRequest
from ingest.connection import ChargerConnection

log = logging.getLogger("chargeline.firmware")
S = 1_000_000_000
SEND_TIMEOUT_S = 30.0
_DONE = (RolloutStatus.completed, RolloutStatus.aborted)


@dataclass
class RolloutAgent:
    data_dir: Path
    desk: CommandDesk
    live: Mapping[str, ChargerConnection]
    poll_s: float = 5.0
    batch: int = 20
    clock: Callable[[], int] = time.time_ns
    settled: set[str] = field(default_factory=set)   # rollouts whose intents were settled

    async def run(self) -> None:
        await every(self.poll_s, self.tick, log, "firmware: rollouts not judged now")

    async def tick(self) -> None:
        for rollout_id in store.list_ids(self.data_dir):
            r = store.load(self.data_dir, rollout_id)
            if r.status not in _DONE:
                await self.drive(r)

    async def drive(self, r: Rollout) -> None:
        if r.rollout_id not in self.settled:
            settle_intents(self.data_dir, r)
            self.settled.add(r.rollout_id)
            self.save(r)
        await self.apply_control(r)
        if r.status == RolloutStatus.planned:
            r.status = RolloutStatus.running
        if r.status == RolloutStatus.aborted:
            return self.save(r)
        if r.status == RolloutStatus.halted:
            await self.roll_back(r)
            return self.save(r)
        wave = r.waves[r.wave]
        if wave.status == WaveStatus.pending and r.status == RolloutStatus.running:
            await self.start_wave(r)
        if wave.status == WaveStatus.sending and r.status == RolloutStatus.running:
            await self.send_wave(r)
        if wave.status in (WaveStatus.sending, WaveStatus.installing, WaveStatus.soaking):
            await self.judge_wave(r)
        self.save(r)

    def save(self, r: Rollout) -> None:
        r.updated_at = self.clock()
        store.save(self.data_dir, r)

    # -- the operator -------------------------------------------------------------------
    async def apply_control(self, r: Rollout) -> None:
        c = store.control(self.data_dir, r.rollout_id)
        if c is None or (r.operator_at is not None and c.at <= r.operator_at):
            return
        r.operator_at = c.at
        before = r.status
        if c.request == OperatorRequest.abort and r.status not in _DONE:
            r.status, r.finished_at = RolloutStatus.aborted, self.clock()
        elif c.request == OperatorRequest.pause and r.status in (RolloutStatus.planned,
                                                                 RolloutStatus.running):
            r.status = RolloutStatus.paused
        elif c.request == OperatorRequest.resume and r.status == RolloutStatus.paused:
            r.status = RolloutStatus.running
        if r.status != before:
            event = {OperatorRequest.abort: RolloutEvent.aborted,
                     OperatorRequest.pause: RolloutEvent.paused,
                     OperatorRequest.resume: RolloutEvent.resumed}[c.request]
            await self.note(r, event)
            log.info("firmware: %s %s by %s", r.rollout_id, r.status.value, c.by)

    async def note(self, r: Rollout, event: RolloutEvent, halt: GateResult | None = None,
                   cp_id: str | None = None) -> int:
        """Journal a ``rollout`` record; the frame id before it."""
        now = self.clock()
        text = RolloutNote(r.rollout_id, event, r.wave, r.to_version, now, halt,
                           r.first_failure_at).to_json()
        cp = cp_id or r.in_wave(r.wave)[0].charge_point_id
        record = RawFrame(0, now, cp, "", "", Direction.none, RecordKind.rollout, None, None,
                          event.value, text, ParseStatus.not_applicable)
        ids = await self.desk.journal.write([record])
        return ids[0] - 1

    # -- sending ------------------------------------------------------------------------
    async def start_wave(self, r: Rollout) -> None:
        wave = r.waves[r.wave]
        wave.journal_after = await self.note(r, RolloutEvent.wave_started)
        wave.status, wave.started_at = WaveStatus.sending, self.clock()
        self.save(r)

    async def send_wave(self, r: Rollout) -> None:
        """UpdateFirmware to the wave's pending chargers that are connected, ``batch`` at a
        time, each intent durable before its command goes out; between batches the operator
        may pause. One not connected waits (a restart of serve: the fleet is still
        redialling) until the install timeout from the wave's start, then is ``skipped``."""
        wave = r.waves[r.wave]
        while r.status == RolloutStatus.running:
            pending = [t for t in r.in_wave(r.wave) if t.state == ChargerState.pending]
            todo = [t for t in pending if t.charge_point_id in self.live]
            if not todo:
                break
            chunk = todo[:self.batch]
            for t in chunk:
                t.step = step_key(r.rollout_id, r.wave, t.charge_point_id)
                t.command_id, t.state = command_id_of(t.step), ChargerState.sending
            self.save(r)
            records = await asyncio.gather(*(
                self.send(r, t, r.location, t.step or "", t.command_id or "") for t in chunk))
            for t, record in zip(chunk, records, strict=True):
                sent(t, record)
            self.save(r)
            await self.apply_control(r)
        pending = [t for t in r.in_wave(r.wave) if t.state == ChargerState.pending]
        late = self.clock() - (wave.started_at or 0) > r.install_timeout_s * S
        for t in pending if late else []:
            t.state, t.reason = ChargerState.skipped, "offline from its wave's start on"
        if not pending or late:
            wave.status = WaveStatus.installing

    async def send(self, r: Rollout, t: ChargerTrack, location: str, step: str,
                   command_id: str) -> CommandRecord:
        conn = self.live.get(t.charge_point_id)
        protocol = conn.protocol if conn is not None else Protocol.v16
        retrieve = ns_to_rfc3339(r.retrieve_at or self.clock())[:23] + "Z"
        return await self.desk.send(CommandRequest(
            t.charge_point_id, "UpdateFirmware",
            update_payload(r, protocol, location, step, retrieve), SEND_TIMEOUT_S,
            CommandOrigin.firmware, requested_by=f"rollout {r.rollout_id}", step=step,
            command_id=command_id))

    # -- judging ------------------------------------------------------------------------
    async def judge_wave(self, r: Rollout) -> None:
        wave, tracks, now = r.waves[r.wave], r.in_wave(r.wave), self.clock()
        since = {t.charge_point_id: t.sent_at for t in tracks if t.sent_at is not None}
        evidence = await asyncio.to_thread(read_evidence, self.data_dir, since)
        await self.confirm_unanswered(r, tracks, evidence, now)
        for t in tracks:
            follow_update(t, evidence.get(t.charge_point_id) or Evidence(), r.to_version,
                          r.install_timeout_s, now)
        wave.gates = judge(tracks, evidence, r.baseline, r.limits, now)
        breach = first_breach(wave.gates)
        if breach is not None:
            return await self.halt(r, breach, evidence)
        if wave.status == WaveStatus.installing and not any(t.state in IN_FLIGHT
                                                            for t in tracks):
            wave.status, wave.settled_at = WaveStatus.soaking, now
            wave.soak_until = now + int(r.soak_s * S)
        if wave.status == WaveStatus.soaking and now >= (wave.soak_until or now) \
                and r.status == RolloutStatus.running:
            wave.status, wave.finished_at = WaveStatus.passed, now
            await self.next_wave(r)

    async def confirm_unanswered(self, r: Rollout, tracks: list[ChargerTrack],
                                 evidence: dict[str, Evidence], now: int) -> None:
        """Sends a restart left unconfirmed (``track.confirm``): the charger is asked for its
        firmware status, and one that never had the update gets it again, under the same step
        and a new message id; one that had it is never sent it twice."""
        asks: list[ChargerTrack] = []
        for t in [t for t in tracks if t.unconfirmed and t.state == ChargerState.sent]:
            step = confirm(t, evidence.get(t.charge_point_id) or Evidence(), now,
                           r.retrieve_at, t.charge_point_id in self.live)
            if step == Confirm.taken:
                t.unconfirmed, t.probed_at = False, None
            elif step == Confirm.probe:
                t.probed_at = now
                asks.append(t)
            elif step == Confirm.resend:
                log.info("firmware: %s never had its update: sent again", t.charge_point_id)
                t.command_id = command_id_of(f"{t.step}/again")
                t.state, t.unconfirmed, t.probed_at = ChargerState.sending, False, None
                self.save(r)
                sent(t, await self.send(r, t, r.location, t.step or "", t.command_id))
                if t.state == ChargerState.pending:  # gone offline again: ask again later
                    t.state, t.unconfirmed = ChargerState.sent, True
        self.save(r)
        await asyncio.gather(*(self.desk.send(CommandRequest(
            t.charge_point_id, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"},
            SEND_TIMEOUT_S, CommandOrigin.firmware, requested_by=f"rollout {r.rollout_id}"))
            for t in asks))

    async def next_wave(self, r: Rollout) -> None:
        if r.wave + 1 < len(r.waves):
            r.wave += 1
            return
        r.status, r.finished_at = RolloutStatus.completed, self.clock()
        await self.note(r, RolloutEvent.completed)
        log.info("firmware: %s completed", r.rollout_id)

    async def halt(self, r: Rollout, breach: GateResult, evidence: dict[str, Evidence]) -> None:
        wave, now = r.waves[r.wave], self.clock()
        wave.status, wave.finished_at = WaveStatus.failed, now
        r.status, r.halt, r.halted_at = RolloutStatus.halted, breach, now
        r.first_failure_at = first_failure(r, breach, evidence) or now
        cp = breach.charge_point_ids[0] if breach.charge_point_ids else None
        await self.note(r, RolloutEvent.halted, breach, cp)
        log.warning("firmware: %s halted in wave %d: %s", r.rollout_id, r.wave + 1, breach)
        if r.on_failure == OnFailure.rollback:
            await self.note(r, RolloutEvent.rollback_started, cp_id=cp)
        self.save(r)
        await self.roll_back(r)

    # -- rolling back -------------------------------------------------------------------
    async def roll_back(self, r: Rollout) -> None:
        """The previous image to the failing wave's chargers that took the new one (an
        offline one is tried again until the install timeout), and their proof followed."""
        if r.on_failure != OnFailure.rollback or r.halted_at is None:
            return
        now, deadline = self.clock(), r.halted_at + int(r.install_timeout_s * S)
        tracks = r.in_wave(r.wave)
        for t in [t for t in tracks if t.state in HAS_IMAGE]:
            location = previous_location(r, t.from_version)
            if location is None or now > deadline:
                t.state, t.reason = ChargerState.rollback_failed, (
                    "previous image unknown" if location is None else "offline until timeout")
                continue
            t.rollback_step = step_key(r.rollout_id, None, t.charge_point_id)
            t.rollback_command_id = command_id = command_id_of(t.rollback_step)
            back, t.state = t.state, ChargerState.rollback_sending
            self.save(r)
            record = await self.send(r, t, location, t.rollback_step, command_id)
            rolled(t, record, back)
            self.save(r)
        since = {t.charge_point_id: t.rollback_sent_at for t in tracks
                 if t.state == ChargerState.rollback_sent and t.rollback_sent_at is not None}
        evidence = await asyncio.to_thread(read_evidence, self.data_dir, since)
        for t in tracks:
            follow_rollback(t, evidence.get(t.charge_point_id) or Evidence(),
                            r.install_timeout_s, now)


def first_failure(r: Rollout, breach: GateResult, evidence: dict[str, Evidence]) -> int | None:
    """The earliest evidence behind the breach: a failure, a boot loop, a silence's start, a
    flagged session's start."""
    times: list[int] = []
    for t in r.in_wave(r.wave):
        if t.charge_point_id not in breach.charge_point_ids:
            continue
        e = evidence.get(t.charge_point_id) or Evidence()
        times += [x for x in (t.failed_at, e.boot_loop_at) if x is not None]
        if breach.gate == GateName.not_back_online:
            times.append(max(t.sent_at or 0, e.last_heard_at or 0))
        if breach.gate == GateName.metering:
            times += [s.started_at for s in e.sessions if s.metering]
    return min(times) if times else None
