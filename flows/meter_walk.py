"""The walk over a session's readings, in protocol order: what its meter says it delivered.

``fold(walk, reading, ...)`` takes the next reading in order; a reading that sorts before one
already folded makes the session fold all of them again from a fresh ``Walk`` (see
``flows.session``), so the result depends on the evidence, not on when it came.

- A register restarting near 0 inside the session is a ``meter_reset`` (the energy before it
  still counts, ``reset_loss_wh``); one going back only part of the way is suspect data
  (``meter_implausible``, held, nothing added); at a ~1000x ratio a ``meter_unit_error``
  (ignored). A drop to
  ~1/1000 is ambiguous — a meter restarting at 0 can land there by chance — so it waits for the
  next reading in order: back at scale, it was a unit error; still low, a reset. A step up of
  ~1000x is a unit error at once. Readings an adapter distrusts as a spike (Wallbox, Q13) are
  alerted too when the step is ~1000x.
- Session registers (ABB Q10) count from 0; a restart adds its peak to what was lost.
- Interval energy is summed; power is integrated (each reading over the interval it ends,
  for ``flows.plausibility``).

Findings carry the amount in Wh and the reading's time, which names the alert (so a finding
made again by a later fold is the same alert).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from canonical.enums import AlertKind, SessionFlag
from flows.config import FlowConfig, S
from flows.readings import Kind, Reading


class Finding(NamedTuple):
    kind: AlertKind
    amount_wh: float
    message: str
    reading: Reading


@dataclass(slots=True)
class Walk:
    """What the readings folded so far say. A fresh ``Walk()`` is the state before any."""

    count: int = 0  # readings folded (of the session's sorted list)
    first_register_wh: float | None = None
    last_register_wh: float | None = None
    reset_loss_wh: float = 0.0
    pending_drop: Reading | None = None  # a ~1/1000 register drop: unit error or reset?
    session_register_wh: float | None = None
    session_register_lost_wh: float = 0.0  # its peaks before it restarted at 0
    interval_sum_wh: float = 0.0
    sample_count: int = 0
    max_power_w: float | None = None
    power_wh: float = 0.0  # ∫ power dt between the first and the last power reading
    first_power: Reading | None = None
    power_count: int = 0
    last_power: Reading | None = None
    flags: set[SessionFlag] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)  # all of them, for withdrawals


    def samples_energy(self) -> float | None:
        """What the register readings alone say (last - first + reset losses)."""
        if self.first_register_wh is None or self.last_register_wh is None:
            return None
        return self.last_register_wh - self.first_register_wh + self.reset_loss_wh


def fold(w: Walk, r: Reading, meter_start_wh: float | None,
         config: FlowConfig) -> list[Finding]:
    """Take the next reading in order; findings for what does not fit (kept in
    ``w.findings`` too)."""
    found = _fold(w, r, meter_start_wh, config)
    w.findings += found
    return found


def _fold(w: Walk, r: Reading, meter_start_wh: float | None,
          config: FlowConfig) -> list[Finding]:
    w.count += 1
    if r.kind is Kind.power:
        _power(w, r)
        return []
    if r.untrusted:
        return _spike(w, r, config) if r.spike and r.kind is Kind.register else []
    w.sample_count += 1
    if r.kind is Kind.session:
        return _session_register(w, r, meter_start_wh, config)
    if r.kind is Kind.interval:
        w.interval_sum_wh += r.value
        return []
    return _register(w, r, config)


def settle(w: Walk, reading_wh: float, config: FlowConfig) -> list[Finding]:
    """A reading after a pending ~1/1000 drop (the stop's, when no sample came) decides it."""
    found = _settle(w, reading_wh, config)
    w.findings += found
    return found


def _settle(w: Walk, reading_wh: float, config: FlowConfig) -> list[Finding]:
    drop, last = w.pending_drop, w.last_register_wh
    w.pending_drop = None
    if drop is None or last is None:
        return []
    if reading_wh >= last - config.mismatch_tolerance_wh:  # back at scale
        return [_unit(w, drop, last)]
    return _take(w, drop, config)


def _power(w: Walk, r: Reading) -> None:
    w.max_power_w = max(w.max_power_w or 0.0, r.value)
    w.power_count += 1
    last = w.last_power
    if last is None:
        w.first_power = r
    elif r.at > last.at:  # a reading stands for the interval it ends (a periodic sample)
        w.power_wh += r.value * (r.at - last.at) / S / 3600
    w.last_power = r


def _session_register(w: Walk, r: Reading, meter_start_wh: float | None,
                      config: FlowConfig) -> list[Finding]:
    last = w.session_register_wh
    if last is not None and (_down_1000(last, r.value) or _up_1000(last, r.value)):
        return [_unit(w, r, last)]
    # A session counter only counts up: a step down past the tolerance (or past half of it,
    # for a session that has counted less than twice the tolerance) is a restart.
    if last is not None and r.value < last - min(config.mismatch_tolerance_wh, last / 2):
        w.session_register_lost_wh += last  # the session counter restarted, and so did
        if meter_start_wh is not None:  # the meter's register, from about start + last
            w.reset_loss_wh += meter_start_wh + last
        w.session_register_wh = r.value
        w.flags.add(SessionFlag.meter_reset)
        return [Finding(AlertKind.meter_reset, last - r.value,
                        f"session register went down by {last - r.value:.0f} Wh", r)]
    w.session_register_wh = max(last or 0.0, r.value)
    return []


def _spike(w: Walk, r: Reading, config: FlowConfig) -> list[Finding]:
    """An adapter-distrusted register reading (a Wallbox spike, Q13). At ~1/1000 it waits for
    the next reading like any such drop; ~1000x up is a unit error at once; else ignored."""
    last = w.last_register_wh
    if last is None:
        return []
    if w.pending_drop is not None:
        found = _settle(w, r.value, config)
        if w.last_register_wh is not None and r.value >= w.last_register_wh:
            found += _take(w, r, config)  # after a reset: counting again
        return found
    if _down_1000(last, r.value):
        w.pending_drop = r
        return []
    if _up_1000(last, r.value):
        return [_unit(w, r, last)]
    return []


def _register(w: Walk, r: Reading, config: FlowConfig) -> list[Finding]:
    found = _settle(w, r.value, config) if w.pending_drop is not None else []
    last = w.last_register_wh
    if last is None:
        w.first_register_wh = w.last_register_wh = r.value
        return found
    if _up_1000(last, r.value):
        return [*found, _unit(w, r, last)]
    if _down_1000(last, r.value):
        w.pending_drop = r  # a unit error or a reset: the next reading tells
        return found
    return found + _take(w, r, config)


def _take(w: Walk, r: Reading, config: FlowConfig) -> list[Finding]:
    """``r`` becomes the register; a step down is a reset (or rollback) inside the session."""
    last = w.last_register_wh
    found = []
    if last is not None and r.value < last - config.mismatch_tolerance_wh:
        if r.value < 0.1 * last:  # the meter restarted at 0: what it counted before counts
            w.reset_loss_wh += last
            w.flags.add(SessionFlag.meter_reset)
            found.append(Finding(AlertKind.meter_reset, last - r.value,
                                 f"register restarted at {r.value:.0f} Wh from {last:.0f} Wh "
                                 "inside the session", r))
        else:  # going backwards part of the way is no restart: suspect data (Q34), held
            w.flags.add(SessionFlag.meter_implausible)
            found.append(Finding(AlertKind.meter_implausible, last - r.value,
                                 f"register went back {last - r.value:.0f} Wh inside the "
                                 "session", r))
    w.last_register_wh = r.value
    return found


def _unit(w: Walk, r: Reading, last: float) -> Finding:
    w.flags.add(SessionFlag.meter_unit_error)
    return Finding(AlertKind.meter_unit_error, abs(r.value - last),
                   f"register jumped from {last:.0f} to {r.value:.0f} Wh: a unit error, ignored",
                   r)


def _down_1000(last: float, value: float) -> bool:
    return last > 1000 and 0.0005 <= value / last <= 0.002


def _up_1000(last: float, value: float) -> bool:
    # A ~1000x step either way is a unit error (a scale error of 10x or 100x is judged
    # against power and time, in ``flows.plausibility``).
    return value > 1000 and last > 0 and 500 <= value / last <= 2000
