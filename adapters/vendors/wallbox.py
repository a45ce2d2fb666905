"""Wallbox Pulsar / Copper (Q13, Q14, Q20): the register briefly drops to 0 or jumps by
thousands of kWh, then comes back; the meter keeps counting after a Stop, so the next start is
above the previous stop. A doubted value is flagged ``spike`` and not trusted; two readings in a
row that agree on the new level are a real reset (``register_reset``)."""

from adapters.base import Adapter
from adapters.meter import Sample
from adapters.state import ChargerState
from canonical.enums import ValueIssue

#: A register step above this (Wh) between two samples is not energy a charger can deliver.
MAX_STEP_WH = 1_000_000.0


class Wallbox(Adapter):
    name = "wallbox"
    description = "Wallbox: register spikes ignored (Q13), counting after stop accepted (Q14)"
    vendor = r"(?i)wall ?box"

    def track_register(self, sample: Sample, state: ChargerState, slot: str) -> None:
        last = state.last_register.get(slot)
        if last is None or last <= sample.value <= last + MAX_STEP_WH:
            state.suspect_register.pop(slot, None)
            state.remember(state.last_register, slot, sample.value)
            return
        suspect = state.suspect_register.get(slot)
        if suspect is not None and abs(sample.value - suspect) <= MAX_STEP_WH / 1000:
            sample.flag(ValueIssue.register_reset)
            state.suspect_register.pop(slot, None)
            state.remember(state.last_register, slot, sample.value)
            return
        state.remember(state.suspect_register, slot, sample.value)
        sample.flag(ValueIssue.spike)

    def review_start(self, fields: dict[str, object], state: ChargerState, slot: str) -> None:
        meter, last_stop = fields.get("meter_wh"), state.last_stop_wh.get(slot)
        if isinstance(meter, float) and last_stop is not None and meter > last_stop:
            fields["detail"] = f"counted_after_stop:{meter - last_stop:.0f}Wh"
        super().review_start(fields, state, slot)
