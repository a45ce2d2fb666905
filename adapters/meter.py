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
- Energy registers sent only per phase get one extra phase-less sample, their sum
  (``value_issue`` ``phases_summed``).
- A sampledValue without a numeric value is quarantined (``unparseable_value``); the others
  of the same frame are kept.
"""

from __future__ import annotations

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
    out.extend(_phase_sums(out))
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


def _phase_sums(samples: list[Sample]) -> list[Sample]:
    """A phase-less total for energy registers sent only per phase."""
    totals: dict[tuple[str, str | None], Sample] = {}
    whole = {(s.measurand, s.context) for s in samples if s.phase is None}
    for s in samples:
        if s.phase is None or s.unit != "Wh" or (s.measurand, s.context) in whole:
            continue
        key = (s.measurand, s.context)
        total = totals.get(key)
        if total is None:
            totals[key] = Sample(s.measurand, s.value, s.unit, None, s.raw_unit, None,
                                 s.context, s.location, s.energy_kind,
                                 (ValueIssue.phases_summed,), s.times)
        else:
            total.value += s.value
    return list(totals.values())


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
