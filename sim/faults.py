"""Labelled faults that act around a session: the connection ones before it, the firmware
update that scales the register, the stop that comes late or without a start, and the two
the stuck-session recovery must tell apart (a transaction the charger forgot, a session only
silent for a while). (Faults inside the meter readings live in ``sim.session``.) Each writes
its truth row when it happens."""

from __future__ import annotations

import time

from sim.charger import SimCharger
from sim.transaction import Tx

CONNECTIVITY = ("boot_loop", "flapping_connection", "charger_offline")
SCALE_AFTER_FIRMWARE = "register_scale_after_firmware"
IMPLAUSIBLE = "implausible_energy"
LOST, SILENT = "lost_transaction", "silent_session"
#: The register's factor after the firmware update (Q9, Keba P40 1.2.2: session energy x10).
FIRMWARE_SCALE = 10.0


async def before_session(c: SimCharger, fault: str | None) -> None:
    if fault in CONNECTIVITY:
        assert fault is not None
        await _connectivity(c, fault)
    elif fault == SCALE_AFTER_FIRMWARE:
        await _firmware_update(c)


async def _connectivity(c: SimCharger, fault: str) -> None:
    cp, now = c.plan.charge_point_id, time.time_ns()
    if fault == "boot_loop":
        await c.call("FirmwareStatusNotification", {"status": "Installed"})
    c.truth.fault(fault, cp, None, now)
    rounds = {"boot_loop": 4, "flapping_connection": 5, "charger_offline": 1}[fault]
    for _ in range(rounds):
        await c.disconnect()
        await c.sleep_sim(3 * 3600 if fault == "charger_offline" else 20)
        await c.connect(boot=fault != "flapping_connection")  # flapping: the network, no reboot


async def _firmware_update(c: SimCharger) -> None:
    """FirmwareStatusNotification Installed, one reboot, a new firmware version: from now on
    the register reads x10 while the power samples stay physical."""
    await c.call("FirmwareStatusNotification", {"status": "Installed"})
    await c.disconnect()
    await c.sleep_sim(90)
    c.firmware = f"{c.p.firmware}.1"
    c.meter.scale = FIRMWARE_SCALE
    await c.connect()


async def before_stop(c: SimCharger, tx: Tx, fault: str | None) -> None:
    cp = c.plan.charge_point_id
    if fault == "late_stop":  # offline 3 h with the stop queued: the session looks stuck
        await c.disconnect()
        c.truth.fault("charger_offline", cp, None, time.time_ns(), "offline 3 h")
        c.truth.fault("stuck_session", cp, tx.id, time.time_ns(), "silent 3 h, stop queued")
        await c.sleep_sim(3 * 3600)
        await c.connect(boot=False)
        c.truth.fault(fault, cp, tx.id, time.time_ns(), "stop delivered 3 h late")
    elif fault == "stop_without_start":
        c.truth.fault(fault, cp, tx.id, time.time_ns(), "start never sent")
    elif fault == "duplicate_stop":
        c.truth.fault(fault, cp, tx.id, time.time_ns(), "a second stop, register differing")


def silent_wall_s(speed: float) -> float:
    """How long a ``silent_session`` keeps quiet, wall seconds: twice the stuck wait the flows
    run with at this speed (``bench.detection``: 1800 simulated s, at least 30 wall s)."""
    return 2 * max(30.0, 1800.0 / speed)


async def keep_silent(c: SimCharger, tx: Tx) -> bool:
    """``silent_session``: online, heartbeating and charging, but no meter values for a long
    stretch (a TriggerMessage still gets its real status and reading). Not a fault to act
    on: labelled with a kind no alert has. True when a command stopped the session."""
    wall_s = c.silence_s if c.silence_s is not None else silent_wall_s(c.speed)
    c.truth.fault(SILENT, c.plan.charge_point_id, tx.id, time.time_ns(),
                  f"no meter values for {wall_s:.0f} wall s; still charging")
    return await c.pause(wall_s * c.speed)


async def lose_transaction(c: SimCharger, tx: Tx, start_ns: int, now_ns: int) -> None:
    """``lost_transaction``: the charger reboots mid-session and forgets the transaction: no
    stop is ever sent, the connector reports Available, it stays online. The truth: the
    energy delivered up to the reboot, labelled ``stuck_session``."""
    cp = c.plan.charge_point_id
    c.meter.set_power(0.0, now_ns)
    c.truth.session(cp, 1, tx.id, start_ns, now_ns, c.meter.true_reading() - tx.true_start,
                    sorted(tx.shaped), LOST)
    c.truth.fault(LOST, cp, tx.id, now_ns, "rebooted mid-transaction, forgot it: never stops")
    c.meter.settle()
    c.connector.tx = None
    await c.reboot("Watchdog")
