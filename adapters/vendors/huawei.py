"""Huawei SCharger (Q8): MeterValues in kWh rounded to 2 decimals (``rounded``: 10 Wh steps)
while Start/Stop carry raw Wh, and ``meterStop = meterStart - 1`` for an empty session: that
stop is repaired to the start (0 Wh), not reported as a meter going backwards."""

from typing import Any

from adapters.base import Adapter
from adapters.meter import Sample
from adapters.state import ChargerState
from canonical.enums import ValueIssue


class Huawei(Adapter):
    name = "huawei"
    description = "Huawei SCharger: kWh rounded to 10 Wh (Q8), stop = start - 1 repaired"
    vendor = r"(?i)huawei"

    def review_sample(self, sample: Sample, state: ChargerState, slot: str,
                      tx_bound: bool) -> None:
        if sample.energy_kind is not None and (sample.raw_unit or "").lower() == "kwh":
            sample.flag(ValueIssue.rounded)
        super().review_sample(sample, state, slot, tx_bound)

    def review_stop(self, fields: dict[str, Any], state: ChargerState) -> None:
        key, meter = fields.get("transaction_key"), fields.get("meter_wh")
        start = state.tx_start_wh.get(key) if key else None
        if meter is not None and start is not None and meter == start - 1:
            fields["meter_wh"] = start
            fields["value_issues"] = (ValueIssue.stop_one_below_start_repaired,)
            return
        super().review_stop(fields, state)
