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
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sim.messages import Reading
from sim.meter import Meter
from sim.plan import ChargerPlan, SessionPlan
from sim.profiles import DC_PHASE_L1, HONEST_DST, STATION_TX_IDS
from sim.truth import Truth
from sim.wire import Wire

S = 1_000_000_000


class SimCharger:
    def __init__(self, plan: ChargerPlan, url: str, speed: float, truth: Truth,
                 t0_ns: int) -> None:
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

    # -- connection ---------------------------------------------------------------------
    async def connect(self, boot: bool = True) -> Wire:
        """Open the socket; ``boot``: as after a power-up (a network reconnect does not)."""
        for attempt in range(30):
            try:
                self.wire = await Wire.open(self.url, self.p.protocol)
                if boot:
                    await self.boot()
                return self.wire
            except (OSError, TimeoutError, ConnectionError) as exc:
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt) * self.rng.uniform(0.5, 1.5))
                last = exc
        raise ConnectionError(f"{self.plan.charge_point_id}: cannot connect: {last}")

    async def disconnect(self) -> None:
        if self.wire is not None:
            await self.wire.close()
            self.wire = None

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        if self.wire is None:
            await self.connect()
        assert self.wire is not None
        return await self.wire.call(action, payload)

    async def boot(self) -> None:
        assert self.wire is not None
        self.boots += 1
        p, serial = self.p, f"SN{self.plan.seed % 10**8}"
        if p.protocol == "ocpp1.6":
            payload: dict[str, Any] = {"chargePointVendor": p.vendor, "chargePointModel": p.model,
                                       "firmwareVersion": self.firmware,
                                       "chargePointSerialNumber": serial}
        else:
            payload = {"reason": "PowerUp", "chargingStation": {
                "vendorName": p.vendor, "model": p.model, "firmwareVersion": self.firmware,
                "serialNumber": serial}}
        answer = await self.wire.call("BootNotification", payload)
        self.heartbeat_s = float((answer or {}).get("interval") or 300)
        if self.plan.fault == "clock_unsynced" and self.boots == 1:
            self.truth.fault("clock_unsynced", self.plan.charge_point_id, None, time.time_ns())
            await self.status(1, "Available", stamp="1970-01-01T00:00:00.740Z")
        else:
            await self.status(1, "Available")

    async def status(self, connector: int, status: str, stamp: str | None = None) -> None:
        ts = stamp or self.stamp()
        if self.p.protocol == "ocpp1.6":
            await self.call("StatusNotification", {"connectorId": connector, "status": status,
                                                   "errorCode": "NoError", "timestamp": ts})
        else:
            await self.call("StatusNotification", {
                "timestamp": ts, "evseId": connector, "connectorId": 1,
                "connectorStatus": {"Preparing": "Occupied", "Charging": "Occupied",
                                    "SuspendedEV": "Occupied",
                                    "Finishing": "Occupied"}.get(status, status)})

    async def heartbeats(self) -> None:
        while True:
            await self.sleep_sim(self.heartbeat_s)
            if self.wire is not None:
                try:
                    await self.wire.call("Heartbeat", {}, timeout=10)
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
                if await run_session(self, session, fault) == "gone":
                    return
            self.idle.set()
            await finished.wait()  # stay online while the rest of the fleet finishes
        finally:
            self.idle.set()
            beat.cancel()
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
        return Reading(stamp, text, unit, context, power_w, self.has(DC_PHASE_L1))

    def new_tx_id(self) -> str:
        """A 2.0.1 transactionId: its own counter ("1", "2", ...) or a fleet-unique name."""
        self.tx_counter += 1
        if self.has(STATION_TX_IDS):
            return str(self.tx_counter)
        return f"{self.plan.charge_point_id}-T{self.tx_counter}"

    def id_tag(self, session: SessionPlan) -> str:
        serial = f"SN{self.plan.seed % 10**8}"
        return f"{session.id_tag}_{serial}" if self.p.idtag_suffix else session.id_tag
