"""Meter values (1.6 and 2.0.1 alike) → ``meter_sample`` events in SI base units.

Rules, in order, for each sampledValue:

- ``measurand`` defaults to ``Energy.Active.Import.Register``; the unit defaults by measurand
  (Wh for energy, W, A, V, Percent...); 2.0.1 ``unitOfMeasure.multiplier`` scales by 10^n.
- The adapter may say what unit a measurand is *really* in (``unit_overrides``): the value is
  then converted from that unit and ``value_issue`` gets ``unit_corrected`` (OpenEVSE Q6).
- Values go to the SI base unit (kWh → Wh, kW → W...); ``raw_value``/``raw_unit`` keep what
  was sent. An unknown unit keeps the value as sent with ``value_issue`` ``unknown_unit``.
- ``energy_kind``: ``interval`` for ``*.Interval`` measurands, else ``register``; a vendor
  adapter may say ``session`` (ABB Q10). ``meter_wh`` is set on ``Energy.Active.Import.*``.
- A measurand sent only per phase gets one extra phase-less sample, its total: a power or
  energy register present only as ``L1`` (no other phase, no phase-less value of the same
  measurand and context) is the total itself (``l1_only_total``: DC and single-phase chargers
  tag their totals L1, Ruisu Q28); other per-phase energy is summed (``phases_summed``).
  Per-phase values (L1, L2, L3 of a three-phase charger; voltage and current) are kept as sent.
- A sampledValue without a numeric value is quarantined (``unparseable_value``); the others
  of the same frame are kept.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from adapters.context import FrameContext
from adapters.values import add_issue, default_unit, to_float, to_int, to_si, to_text
from canonical.enums import REPAIRED, EventType, ValueIssue

ENERGY_REGISTER = "Energy.Active.Import.Register"


@dataclass(slots=True)
class Sample:
    """One sampled value while it is being normalized (adapters may amend it)."""

    measurand: str
    value: float
    unit: str
    raw_value: str | None
    raw_unit: str | None
    phase: str | None = None
    context: str | None = None
    location: str | None = None
    energy_kind: str | None = None
    value_issues: tuple[ValueIssue, ...] = ()
    times: dict[str, Any] | None = None

    @property
    def is_register(self) -> bool:
        return self.measurand == ENERGY_REGISTER and self.phase is None

    def flag(self, issue: ValueIssue) -> None:
        self.value_issues = add_issue(self.value_issues, issue)


def read_meter_values(ctx: FrameContext, meter_values: Any, slot: str,
                      tx_bound: bool) -> list[Sample]:
    """Every sample of a ``meterValue`` list, amended by the adapter; bad parts quarantined."""
    if isinstance(meter_values, dict):
        meter_values = [meter_values]
    if not isinstance(meter_values, list):
        return []
    samples: list[Sample] = []
    for element in meter_values:
        if not isinstance(element, dict):
            ctx.quarantine("meter_value_not_object", repr(element)[:200])
            continue
        samples.extend(_element(ctx, element, slot, tx_bound))
    return samples


def _element(ctx: FrameContext, element: dict[str, Any], slot: str,
             tx_bound: bool) -> list[Sample]:
    times = ctx.times(element.get("timestamp"))
    sampled = element.get("sampledValue")
    if isinstance(sampled, dict):
        sampled = [sampled]
    if not isinstance(sampled, list) or not sampled:
        ctx.quarantine("no_sampled_values")
        return []
    out: list[Sample] = []
    for raw in sampled:
        sample = read_sampled_value(ctx, raw)
        if sample is not None:
            sample.times = times
            out.append(sample)
    out.extend(_phase_totals(out))
    for sample in out:
        ctx.adapter.review_sample(sample, ctx.state, slot, tx_bound)
    return out


def read_sampled_value(ctx: FrameContext, raw: Any) -> Sample | None:
    """One sampledValue → Sample in SI units, or None after quarantining it."""
    if not isinstance(raw, dict):
        ctx.quarantine("sampled_value_not_object", repr(raw)[:200])
        return None
    raw_value = raw.get("value")
    number = to_float(raw_value)
    if number is None:
        ctx.quarantine("unparseable_value", f"value={raw_value!r}"[:200])
        return None
    measurand = to_text(raw.get("measurand")) or ENERGY_REGISTER
    raw_unit, multiplier = _unit_of(raw)
    sample = Sample(measurand, number, "", to_text(raw_value), raw_unit,
                    to_text(raw.get("phase")), to_text(raw.get("context")),
                    to_text(raw.get("location")))
    _convert(sample, ctx.adapter.unit_overrides.get(measurand), multiplier)
    return sample


def _unit_of(raw: dict[str, Any]) -> tuple[str | None, int]:
    unit_of_measure = raw.get("unitOfMeasure")
    if isinstance(unit_of_measure, dict):
        multiplier = to_int(unit_of_measure.get("multiplier")) or 0
        return to_text(unit_of_measure.get("unit")), max(-9, min(9, multiplier))
    return to_text(raw.get("unit")), 0


def _convert(sample: Sample, real_unit: str | None, multiplier: int) -> None:
    unit = sample.raw_unit or default_unit(sample.measurand)
    if real_unit and real_unit != unit:
        unit = real_unit
        sample.flag(ValueIssue.unit_corrected)
    value = sample.value * 10.0**multiplier if multiplier else sample.value
    if not unit:
        sample.value, sample.unit = value, ""
        return
    sample.value, sample.unit, known = to_si(value, unit)
    if not known:
        sample.flag(ValueIssue.unknown_unit)
    elif sample.unit in ("Wh", "varh"):
        sample.energy_kind = "interval" if sample.measurand.endswith(".Interval") else "register"


def _phase_totals(samples: list[Sample]) -> list[Sample]:
    """Phase-less totals for measurands sent only per phase (see the module docstring)."""
    if not any(s.phase for s in samples):  # the common element: nothing per phase
        return []
    by_key: dict[tuple[str, str | None], list[Sample]] = {}
    for s in samples:
        by_key.setdefault((s.measurand, s.context), []).append(s)
    totals = []
    for group in by_key.values():
        if any(s.phase is None for s in group):
            continue
        if len(group) == 1 and group[0].phase == "L1" and _total_when_l1_only(group[0]):
            totals.append(_total(group[0], group[0].value, ValueIssue.l1_only_total))
        elif energy := [s for s in group if s.unit == "Wh"]:
            totals.append(_total(energy[0], sum(s.value for s in energy),
                                 ValueIssue.phases_summed))
    return totals


def _total_when_l1_only(sample: Sample) -> bool:
    """Power and energy registers: a lone L1 value of these is the charger's total."""
    if sample.measurand == "Power.Active.Import":
        return sample.unit == "W"
    return sample.measurand.endswith(".Register") and sample.unit in ("Wh", "varh")


def _total(first: Sample, value: float, issue: ValueIssue) -> Sample:
    return dataclasses.replace(first, value=value, raw_value=None, phase=None,
                               value_issues=(issue,))


def emit_samples(ctx: FrameContext, samples: list[Sample], **common: Any) -> None:
    """One ``meter_sample`` event per sample; ``common`` holds the connector/transaction fields."""
    for s in samples:
        energy = s.value if s.measurand.startswith("Energy.Active.Import") else None
        ctx.emit(EventType.meter_sample, measurand=s.measurand, phase=s.phase,
                 context=s.context, location=s.location, value=s.value, unit=s.unit,
                 raw_value=s.raw_value, raw_unit=s.raw_unit, meter_wh=energy,
                 energy_kind=s.energy_kind, value_issues=s.value_issues,
                 **(s.times or {}), **common)


def _benign(issues: tuple[ValueIssue, ...]) -> bool:
    """The value is still the meter reading (repaired, or exact but derived)."""
    return all(issue in REPAIRED for issue in issues)


def start_meter(samples: list[Sample],
                context: str) -> tuple[float | None, tuple[ValueIssue, ...]]:
    """(meter Wh, issue) for a 2.0.1 transaction event: its trusted register sample, if any."""
    registers = [s for s in samples if s.is_register and s.energy_kind != "interval"]
    preferred = [s for s in registers if s.context == context] or registers
    trusted = [s for s in preferred if _benign(s.value_issues)]
    if trusted:
        return trusted[0].value, trusted[0].value_issues
    if preferred:
        return None, preferred[0].value_issues
    return None, ()
