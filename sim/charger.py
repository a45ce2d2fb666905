"""One simulated charge point: boots, heartbeats, runs its planned sessions like its vendor and
its client profiles, and injects its labelled fault.

Time: charger clocks are the real UTC clock (plus any clock fault), sent as UTC ``Z``, or as
local time with its true offset (``honest_dst_offsets``). ``speed`` compresses the waits, so
a simulated day passes in minutes; energy is never compressed: the meter (``sim.meter``)
integrates real power over the real wall time, so what a session delivers is consistent with
its power samples and its timestamps.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from canonical.uptime import DowntimeCause
from sim import v21
from sim.firmware import BadFirmware
from sim.messages import Reading
from sim.meter import Meter
from sim.plan import ChargerPlan, SessionPlan
from sim.profiles import DC_PHASE_L1, HONEST_DST, STATION_TX_IDS
from sim.responder import REBOOT_S, CommandState, Connector, trait_settings
from sim.truth import Truth
from sim.wire import Reply, Wire

S = 1_000_000_000


class SimCharger:
    def __init__(self, plan: ChargerPlan, url: str, speed: float, truth: Truth,
                 t0_ns: int, bad_firmware: tuple[BadFirmware, ...] = (),
                 redial: bool = False) -> None:
        self.plan, self.p = plan, plan.vendor
        self.url = f"{url.rstrip('/')}/{plan.charge_point_id}"
        self.speed, self.truth, self.t0 = speed, truth, t0_ns
        self.rng = random.Random(plan.seed)
        self.meter = Meter(float(self.rng.randrange(100_000, 5_000_000)), time.time_ns())
        self.zone = ZoneInfo(plan.zone) if HONEST_DST in plan.profiles else None
        self.firmware = self.p.firmware
        self.wire: Wire | None = None
        self.heartbeat_s = 300.0
        self.boots = 0
        self.tx_counter = 0
        self.idle = asyncio.Event()  # set when its sessions are done (or it is gone)
        self.connector = Connector()
        self.cmd = CommandState.for_protocol(self.p.protocol,
                                             *trait_settings(plan.traits, self.p.protocol))
        self.link = asyncio.Lock()           # one (re)connection at a time
        self.beat_changed = asyncio.Event()  # HeartbeatInterval changed: a new pace now
        self.tasks: set[asyncio.Task[None]] = set()  # follow-ups of commands, running
        self.silence_s: float | None = None  # silent_session: wall seconds (None: by speed)
        self.bad_firmware = bad_firmware     # images that make it misbehave (sim.firmware)
        self.firmware_job = 0                # UpdateFirmware requests taken so far
        self.muted = False                   # a no_heartbeat image: silent for good
        self.redial = redial or bool(bad_firmware)  # reconnect when the server drops it
        self.offline_since: int | None = None  # no connection since (truth: downtime)
        self.dead_left = 0                   # dead_port: sessions still to deliver nothing
        self.dead_since: int | None = None   # dead_port: down since (truth: downtime)

    def has(self, profile: str) -> bool:
        return profile in self.plan.profiles

    # -- time ---------------------------------------------------------------------------
    def offset_s(self) -> float:
        sim_hours = (time.time_ns() - self.t0) / S * self.speed / 3600
        if self.plan.fault == "clock_drift":
            return 150.0 + 30.0 * sim_hours
        if self.plan.fault == "clock_timezone_offset":
            return 3600.0
        return 0.0

    def stamp(self, at_ns: int | None = None) -> str:
        """The charger's clock at ``at_ns`` (now), as it writes it, ms precision."""
        at = (at_ns or time.time_ns()) / S + self.offset_s()
        if self.zone is not None:  # the true offset of that instant in its zone
            return datetime.fromtimestamp(at, self.zone).isoformat(timespec="milliseconds")
        text = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        return text if self.p.local_offset_min is not None else text + "Z"

    async def sleep_sim(self, sim_s: float) -> None:
        await asyncio.sleep(max(0.0, sim_s / self.speed))

    async def pause(self, sim_s: float) -> bool:
        """Wait ``sim_s`` simulated seconds; True (at once) when a command stops its session."""
        stop = self.connector.stop
        if not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, sim_s / self.speed))
            except TimeoutError:
                return False
        return True

    # -- connection ---------------------------------------------------------------------
    async def connect(self, boot: bool = True, reason: str = "PowerUp") -> Wire:
        """Open the socket; ``boot``: as after a power-up (a network reconnect does not).
        Connected already (another task reconnected first): that connection."""
        async with self.link:
            if self.wire is None:
                await self._connect(boot, reason)
            assert self.wire is not None
            return self.wire

    async def _connect(self, boot: bool, reason: str) -> None:
        for attempt in range(30):
            try:
                self.wire = await Wire.open(self.url, self.p.protocol, self.answer, self.spawn)
                self.note_online(time.time_ns())
                if boot:
                    await self.boot(reason)
                return
            except (OSError, TimeoutError, ConnectionError) as exc:
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt) * self.rng.uniform(0.5, 1.5))
                last = exc
        raise ConnectionError(f"{self.plan.charge_point_id}: cannot connect: {last}")

    async def disconnect(self) -> None:
        if self.wire is not None:
            wire, self.wire = self.wire, None
            if self.offline_since is None:
                self.offline_since = time.time_ns()
            await wire.close()

    def note_online(self, now_ns: int, closing: bool = False) -> None:
        """Connected again (or the run ends, ``closing``): the truth row of the stretch
        without a connection, for every port."""
        if self.offline_since is not None:
            self.truth.downtime(self.plan.charge_point_id, None, DowntimeCause.offline,
                                self.offline_since, now_ns,
                                "run ended" if closing else "no connection")
            self.offline_since = None

    async def reboot(self, reason: str = "PowerUp") -> None:
        """Close the socket, stay away ``REBOOT_S``, connect and boot (2.0.1 ``reason``);
        calls made meanwhile wait for the new connection."""
        async with self.link:
            await self.disconnect()
            await self.sleep_sim(REBOOT_S)
            await self._connect(True, reason)

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        """Send a CALL; a connection closed under it (a reset) is a resend on the next one,
        as a charger's queue resends its messages."""
        for _ in range(3):
            wire = self.wire or await self.connect()
            try:
                return await wire.call(action, payload)
            except ConnectionError:
                if self.wire is wire and not self.redial:  # the server went away
                    raise
                await self.dropped(wire)
        raise ConnectionError(f"{self.plan.charge_point_id}: {action} never delivered")

    async def dropped(self, wire: Wire) -> None:
        """The server closed ``wire``: reconnect (a network reconnect, no boot)."""
        async with self.link:
            if self.wire is wire:
                self.wire = None
                self.offline_since = self.offline_since or time.time_ns()
                await self._connect(False, "PowerUp")

    def mute(self) -> None:
        """Silent for good: no heartbeat, no answer, no session; the socket stays open."""
        self.muted = True

    def answer(self, action: str, payload: dict[str, Any]) -> Reply:
        """The responder of its connection (``sim.responder``)."""
        from sim.responder import answer

        if self.muted:
            return Reply(unanswered=True)
        return answer(self, action, payload)

    def spawn(self, follow_up: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a command's follow-up messages beside the read loop (kept until done)."""
        task = asyncio.get_running_loop().create_task(follow_up)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def boot(self, reason: str = "PowerUp") -> None:
        assert self.wire is not None
        self.boots += 1
        answer = await self.wire.call("BootNotification", self.boot_payload(reason))
        self.heartbeat_s = float((answer or {}).get("interval") or 300)
        at_boot = "Available" if self.connector.operative else "Unavailable"
        if self.plan.fault == "clock_unsynced" and self.boots == 1:
            self.truth.fault("clock_unsynced", self.plan.charge_point_id, None, time.time_ns())
            await self.status(1, at_boot, stamp="1970-01-01T00:00:00.740Z")
        else:
            await self.status(1, at_boot)
        if v21.speaks_21(self):
            await v21.after_boot(self)

    def boot_payload(self, reason: str = "PowerUp") -> dict[str, Any]:
        """Its BootNotification (2.0.1: with ``reason``)."""
        p, serial = self.p, f"SN{self.plan.seed % 10**8}"
        if p.protocol == "ocpp1.6":
            return {"chargePointVendor": p.vendor, "chargePointModel": p.model,
                    "firmwareVersion": self.firmware, "chargePointSerialNumber": serial}
        return {"reason": reason, "chargingStation": {
            "vendorName": p.vendor, "model": p.model, "firmwareVersion": self.firmware,
            "serialNumber": serial}}

    def has_trait(self, trait: str) -> bool:
        return trait in self.plan.traits

    async def status(self, connector: int, status: str, stamp: str | None = None) -> None:
        """Report (and keep) the status of ``connector``, as the 1.6 status names it."""
        self.connector.status = status
        await self.call(*self.status_call(connector, status, stamp))

    def status_call(self, connector: int, status: str,
                    stamp: str | None = None) -> tuple[str, dict[str, Any]]:
        ts = stamp or self.stamp()
        if self.p.protocol == "ocpp1.6":
            return "StatusNotification", {"connectorId": connector, "status": status,
                                          "errorCode": "NoError", "timestamp": ts}
        return "StatusNotification", {
            "timestamp": ts, "evseId": connector, "connectorId": 1,
            "connectorStatus": {"Preparing": "Occupied", "Charging": "Occupied",
                                "SuspendedEV": "Occupied",
                                "Finishing": "Occupied"}.get(status, status)}

    def set_heartbeat(self, sim_s: float) -> None:
        self.heartbeat_s = sim_s
        self.beat_changed.set()

    async def heartbeats(self) -> None:
        while True:
            try:  # a new HeartbeatInterval starts a new wait at once
                await asyncio.wait_for(self.beat_changed.wait(), self.heartbeat_s / self.speed)
                self.beat_changed.clear()
                continue
            except TimeoutError:
                pass
            wire = self.wire
            if wire is not None and wire.closed and self.redial and not self.muted:
                await self.dropped(wire)
            elif wire is not None and not self.muted:
                try:
                    await wire.call("Heartbeat", {}, timeout=10)
                except Exception:
                    continue

    # -- the run ------------------------------------------------------------------------
    async def run(self, end_ns: int, finished: asyncio.Event) -> None:
        """Its sessions until ``end_ns``; then online (heartbeating) until ``finished``."""
        from sim.backfill import backfill
        from sim.session import run_session

        await self.connect()
        if self.plan.fault in ("clock_drift", "clock_timezone_offset"):
            self.truth.fault(self.plan.fault, self.plan.charge_point_id, None, time.time_ns(),
                             f"clock off by {self.offset_s():.0f} s")
        beat = asyncio.get_running_loop().create_task(self.heartbeats())
        try:
            await backfill(self)
            for index, session in enumerate(self.plan.sessions):
                wait_s = self.t0 / S + session.start_s / self.speed - time.time()
                if time.time_ns() + int(max(wait_s, 0) * S) > end_ns:
                    break
                await asyncio.sleep(max(0.0, wait_s))
                fault = self.plan.fault if index == self.plan.fault_session else None
                if not self.connector.free or self.muted:  # a command holds it / mute
                    continue
                outcome = await run_session(self, session, fault)
                if outcome == "gone":
                    return
                if outcome == "lost":  # rebooted, forgot its transaction: online, idle
                    break
            self.idle.set()
            await finished.wait()  # stay online while the rest of the fleet finishes
        finally:
            self.idle.set()
            beat.cancel()
            for task in list(self.tasks):
                task.cancel()
            await self.disconnect()

    # -- what it says -------------------------------------------------------------------
    def meter_text(self, value_wh: float) -> tuple[str, str]:
        if self.p.meter_unit == "kWh":
            return f"{value_wh / 1000:.2f}", "kWh"
        if self.p.kwh_labelled_wh:
            return f"{value_wh / 1000:.3f}", "Wh"
        return f"{value_wh:.0f}", "Wh"

    def reading(self, register_wh: float, context: str, stamp: str,
                power_w: float | None = None) -> Reading:
        """A reading of ``register_wh`` as its firmware words it (unit, phase tags)."""
        text, unit = self.meter_text(register_wh)
        return Reading(stamp, text, unit, context, power_w, self.has(DC_PHASE_L1),
                       v21.export_register(self, register_wh))

    def new_tx_id(self) -> str:
        """A 2.0.1 transactionId: its own counter ("1", "2", ...) or a fleet-unique name."""
        self.tx_counter += 1
        if self.has(STATION_TX_IDS):
            return str(self.tx_counter)
        return f"{self.plan.charge_point_id}-T{self.tx_counter}"

    def id_tag(self, session: SessionPlan) -> str:
        serial = f"SN{self.plan.seed % 10**8}"
        return f"{session.id_tag}_{serial}" if self.p.idtag_suffix else session.id_tag
