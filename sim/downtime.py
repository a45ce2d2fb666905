"""Downtime faults for the uptime figure (``docs/uptime.md``), selectable by name
(``--faults port_outage,port_faulted,dead_port``), not in ``all``, so fleets planned before
them run as they did:

- ``port_outage``: before its fault session the charger goes offline ``OUTAGE_S`` simulated
  seconds (the socket closed), then reconnects and boots.
- ``port_faulted``: before its fault session the port reports ``Faulted`` (1.6 errorCode
  ``GroundFailure``) for ``FAULTED_S`` simulated seconds, then ``Available``.
- ``dead_port``: the port says Available and Charging as usual, but its fault session and the
  next ``DEAD_SESSIONS - 1`` deliver no energy (0 W, register still); a technician fixes it
  just before the next session starts.

Truth: ``downtime`` rows (``sim.truth``), one per true down period, with its cause
(``canonical.uptime.DowntimeCause``). Offline rows are written by ``SimCharger`` itself for
every stretch without a connection (any fault's, a reboot's), so the truth covers them all.
"""

from __future__ import annotations

import time

from canonical.uptime import DowntimeCause
from sim.charger import SimCharger

PORT_OUTAGE, PORT_FAULTED, DEAD_PORT = "port_outage", "port_faulted", "dead_port"
OUTAGE_S = 1800.0
FAULTED_S = 1800.0
DEAD_SESSIONS = 2


async def before_session(c: SimCharger, fault: str | None) -> None:
    """The outage or the fault before the fault session."""
    if fault == PORT_OUTAGE:
        await c.disconnect()
        await c.sleep_sim(OUTAGE_S)
        await c.connect()
    elif fault == PORT_FAULTED:
        await _faulted(c)


async def _faulted(c: SimCharger) -> None:
    action, payload = c.status_call(1, "Faulted")
    if "errorCode" in payload:
        payload["errorCode"] = "GroundFailure"
    since = time.time_ns()
    c.connector.status = "Faulted"
    await c.call(action, payload)
    await c.sleep_sim(FAULTED_S)
    await c.status(1, "Available")
    c.truth.downtime(c.plan.charge_point_id, 1, DowntimeCause.faulted, since, time.time_ns(),
                     "Faulted (GroundFailure)")


def session_is_dead(c: SimCharger, fault: str | None, start_ns: int) -> bool:
    """Called as a session starts: True when it must deliver nothing. Closes the truth row of
    a dead spell the session after it ends (the port was fixed just before)."""
    if fault == DEAD_PORT:
        c.dead_left, c.dead_since = DEAD_SESSIONS, start_ns
    if c.dead_left > 0:
        c.dead_left -= 1
        return True
    if c.dead_since is not None:
        c.truth.downtime(c.plan.charge_point_id, 1, DowntimeCause.failed_starts,
                         c.dead_since, start_ns, "sessions delivered no energy")
        c.dead_since = None
    return False


def close_open(c: SimCharger, now_ns: int) -> None:
    """At the end of the run: a dead spell or an outage still open lasts until now."""
    if c.dead_since is not None:
        c.truth.downtime(c.plan.charge_point_id, 1, DowntimeCause.failed_starts,
                         c.dead_since, now_ns, "never fixed")
        c.dead_since = None
    c.note_online(now_ns, closing=True)
