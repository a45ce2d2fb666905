"""Meter reconciliation, continuously: each sample, start and stop checked against the rest.

- ``meter_reset``: a start below the previous stop on the connector (Q14/Q15), or a register
  going down inside a session. The energy before a reset still counts (``reset_loss_wh``).
- ``meter_unit_error``: a register step of ~1000x either way: the sample is ignored, never
  billed. A drop to ~1/1000 is ambiguous — a meter restarting at 0 can land there by chance —
  so it waits for the next reading (sample or meterStop): back at scale, it was a unit error;
  still low, it was a reset. A step up of ~1000x is a unit error at once. Samples the adapter
  already distrusts as a spike (Wallbox, Q13) are alerted too when the step is ~1000x.
- ``meter_mismatch``: meterStop below meterStart, or below the last register sample, by more
  than the tolerance (Wh or % of the session).
Every alert carries the amount in Wh.
"""

from __future__ import annotations

from canonical.enums import AlertKind
from canonical.events import CanonicalEvent
from canonical.findings import Alert
from flows.alerts import make_alert
from flows.config import FlowConfig
from flows.session import Session

#: Sample issues that make a value evidence only, never a register reading to trust.
UNTRUSTED = ("spike", "queued_replay", "placeholder_zero", "connector0_sum", "unknown_unit")
REGISTER = "Energy.Active.Import.Register"


def _alert(kind: AlertKind, s: Session, e: CanonicalEvent, amount_wh: float, message: str, *,
           about: str | None = None) -> Alert:
    return make_alert(kind, s.charge_point_id, about or s.session_id,
                      detected_at=e.server_received_at, event_time=e.charger_at,
                      session_id=s.session_id, connector_id=s.connector_id,
                      frame_id=e.frame_id, value=round(amount_wh, 3), unit="Wh", message=message)


def _tolerance(s: Session, config: FlowConfig, scale_wh: float) -> float:
    return max(config.mismatch_tolerance_wh, abs(scale_wh) * config.mismatch_tolerance_pct / 100)


def _trusted(e: CanonicalEvent) -> bool:
    issue = e.value_issue or ""
    return not any(u in issue for u in UNTRUSTED)


def check_start(s: Session, e: CanonicalEvent, previous_stop_wh: float | None,
                config: FlowConfig) -> list[Alert]:
    if e.meter_wh is None or previous_stop_wh is None:
        return []
    drop = previous_stop_wh - e.meter_wh
    if drop <= config.mismatch_tolerance_wh:
        return []
    s.flag("meter_reset")
    return [_alert(AlertKind.meter_reset, s, e, drop,
                   f"meter started {drop:.0f} Wh below the previous stop on this connector",
                   about=f"{s.session_id}@start")]


def check_sample(s: Session, e: CanonicalEvent, config: FlowConfig) -> list[Alert]:
    """Fold one meter sample into the session's evidence; alerts for what does not fit."""
    if e.measurand == "Power.Active.Import" and e.phase is None and e.value is not None:
        s.max_power_w = max(s.max_power_w or 0.0, e.value)
    if e.meter_wh is None or e.phase is not None:
        return []
    if not _trusted(e):
        return _spike(s, e, config) if "spike" in (e.value_issue or "") else []
    s.sample_count += 1
    if e.energy_kind == "session":
        last = s.session_register_wh
        if last is not None and (_step_down_1000(last, e.meter_wh) or
                                 _step_up_1000(last, e.meter_wh)):
            s.flag("meter_unit_error")
            return [_unit_alert(s, e, last, e.meter_wh)]
        if last is not None and e.meter_wh < last - config.mismatch_tolerance_wh:
            s.session_register_lost_wh += last  # the session counter restarted, and so did
            if s.meter_start_wh is not None:  # the meter's register, from about start + last
                s.reset_loss_wh += s.meter_start_wh + last
            s.session_register_wh = e.meter_wh
            s.flag("meter_reset")
            return [_alert(AlertKind.meter_reset, s, e, last - e.meter_wh,
                           f"session register went down by {last - e.meter_wh:.0f} Wh",
                           about=f"{s.session_id}@{e.frame_id}")]
        s.session_register_wh = max(last or 0.0, e.meter_wh)
        return []
    if e.energy_kind == "interval":
        s.interval_sum_wh += e.meter_wh
        return []
    if e.measurand != REGISTER:
        return []
    return _register(s, e, e.meter_wh, config)


def _spike(s: Session, e: CanonicalEvent, config: FlowConfig) -> list[Alert]:
    """An adapter-distrusted register sample (a Wallbox spike, Q13). At ~1/1000 it waits for
    the next reading like any such drop; ~1000x up is a unit error at once; else ignored."""
    last = s.last_register_wh
    if e.meter_wh is None or last is None or e.measurand != REGISTER:
        return []
    if s.pending_drop is not None:
        alerts = settle_drop(s, e.meter_wh, config)
        if s.last_register_wh is not None and e.meter_wh >= s.last_register_wh:
            alerts += _take(s, e, e.meter_wh, config)  # after a reset: counting again
        return alerts
    if _step_down_1000(last, e.meter_wh):
        s.pending_drop = e
        return []
    if _step_up_1000(last, e.meter_wh):
        s.flag("meter_unit_error")
        return [_unit_alert(s, e, last, e.meter_wh)]
    return []


def _unit_alert(s: Session, e: CanonicalEvent, last: float, value: float) -> Alert:
    return _alert(AlertKind.meter_unit_error, s, e, abs(value - last),
                  f"register jumped from {last:.0f} to {value:.0f} Wh: a unit error, ignored",
                  about=f"{s.session_id}@{e.frame_id}")


def _register(s: Session, e: CanonicalEvent, value: float, config: FlowConfig) -> list[Alert]:
    alerts = settle_drop(s, value, config) if s.pending_drop is not None else []
    last = s.last_register_wh
    if last is None:
        s.first_register_wh = s.last_register_wh = value
        s.last_register_at = e.server_received_at
        return alerts
    if _step_up_1000(last, value):
        s.flag("meter_unit_error")
        return [*alerts, _unit_alert(s, e, last, value)]
    if _step_down_1000(last, value):
        s.pending_drop = e  # a unit error or a reset: the next reading tells
        return alerts
    return alerts + _take(s, e, value, config)


def _take(s: Session, e: CanonicalEvent, value: float, config: FlowConfig) -> list[Alert]:
    """``value`` becomes the register; a step down is a reset (or rollback) inside the session."""
    last = s.last_register_wh
    alerts = []
    if last is not None and value < last - config.mismatch_tolerance_wh:
        restarted_at_zero = value < 0.1 * last  # a reset; else a rollback to ``value``
        s.reset_loss_wh += last - (0.0 if restarted_at_zero else value)
        s.flag("meter_reset")
        alerts.append(_alert(AlertKind.meter_reset, s, e, last - value,
                             f"register went down by {last - value:.0f} Wh inside the session",
                             about=f"{s.session_id}@{e.frame_id}"))
    s.last_register_wh, s.last_register_at = value, e.server_received_at
    return alerts


def settle_drop(s: Session, reading_wh: float, config: FlowConfig) -> list[Alert]:
    """The reading after a ~1/1000 drop decides what the drop was."""
    drop, last = s.pending_drop, s.last_register_wh
    s.pending_drop = None
    if drop is None or drop.meter_wh is None or last is None:
        return []
    if reading_wh >= last - config.mismatch_tolerance_wh:  # back at scale
        s.flag("meter_unit_error")
        return [_unit_alert(s, drop, last, drop.meter_wh)]
    return _take(s, drop, drop.meter_wh, config)


def _step_down_1000(last: float, value: float) -> bool:
    return last > 1000 and 0.0005 <= value / last <= 0.002


def _step_up_1000(last: float, value: float) -> bool:
    # A ~1000x step either way is a unit error. (A power-based bound would misfire on
    # time-compressed simulations and on queued samples; the ratio does not.)
    return value > 1000 and last > 0 and 500 <= value / last <= 2000


def check_stop(s: Session, e: CanonicalEvent, config: FlowConfig) -> list[Alert]:
    stop, start = s.meter_stop_wh, s.meter_start_wh
    if stop is None:
        return []
    settled = settle_drop(s, stop, config) if s.pending_drop is not None else []
    return settled + _stop_mismatch(s, e, stop, start, config)


def _stop_mismatch(s: Session, e: CanonicalEvent, stop: float, start: float | None,
                   config: FlowConfig) -> list[Alert]:
    if start is not None and stop + s.reset_loss_wh < start - 0.5:
        s.flag("meter_mismatch")
        return [_alert(AlertKind.meter_mismatch, s, e, start - stop,
                       f"meterStop {stop:.0f} Wh is below meterStart {start:.0f} Wh")]
    last = s.last_register_wh
    span = stop - (start or stop)
    if last is not None and last - stop > _tolerance(s, config, span):
        s.flag("meter_mismatch")
        return [_alert(AlertKind.meter_mismatch, s, e, last - stop,
                       f"meterStop {stop:.0f} Wh is {last - stop:.0f} Wh below the last "
                       "meter sample")]
    return []
