"""Meter reconciliation, continuously: each sample, start and stop checked against the rest.

- ``meter_reset``: a start below the previous stop on the connector (Q14/Q15), or a register
  going down inside a session. The energy before a reset still counts (``reset_loss_wh``).
- ``meter_unit_error``: a register step of ~1000x either way: the sample is ignored, never
  billed.
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
    if e.meter_wh is None or not _trusted(e) or e.phase is not None:
        return []
    s.sample_count += 1
    if e.energy_kind == "session":
        s.session_register_wh = max(s.session_register_wh or 0.0, e.meter_wh)
        return []
    if e.energy_kind == "interval":
        s.interval_sum_wh += e.meter_wh
        return []
    if e.measurand != REGISTER:
        return []
    return _register(s, e, e.meter_wh, config)


def _register(s: Session, e: CanonicalEvent, value: float, config: FlowConfig) -> list[Alert]:
    last, last_at = s.last_register_wh, s.last_register_at
    if last is None:
        s.first_register_wh = s.last_register_wh = value
        s.last_register_at = e.server_received_at
        return []
    if _unit_error(last, value, last_at, e.server_received_at, config):
        s.flag("meter_unit_error")
        return [_alert(AlertKind.meter_unit_error, s, e, abs(value - last),
                       f"register jumped from {last:.0f} to {value:.0f} Wh: a unit error, "
                       "ignored", about=f"{s.session_id}@{e.frame_id}")]
    alerts = []
    if value < last - config.mismatch_tolerance_wh:
        restarted_at_zero = value < 0.1 * last  # a reset; else a rollback to ``value``
        s.reset_loss_wh += last - (0.0 if restarted_at_zero else value)
        s.flag("meter_reset")
        alerts.append(_alert(AlertKind.meter_reset, s, e, last - value,
                             f"register went down by {last - value:.0f} Wh inside the session",
                             about=f"{s.session_id}@{e.frame_id}"))
    s.last_register_wh, s.last_register_at = value, e.server_received_at
    return alerts


def _unit_error(last: float, value: float, last_at: int | None, at: int,
                config: FlowConfig) -> bool:
    if last > 1000 and 0.0005 <= value / last <= 0.002:
        return True
    # A ~1000x step either way is a unit error. (A power-based bound would misfire on
    # time-compressed simulations and on queued samples; the ratio does not.)
    return value > 1000 and last > 0 and 500 <= value / last <= 2000


def check_stop(s: Session, e: CanonicalEvent, config: FlowConfig) -> list[Alert]:
    stop, start = s.meter_stop_wh, s.meter_start_wh
    if stop is None:
        return []
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
