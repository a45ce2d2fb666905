"""The generic adapter: plain OCPP semantics. Vendor adapters subclass it, overriding only
what their chargers do differently (as sqlglot dialects do).

Class attributes are the data-only knobs (also settable from ``vendors.toml``):

- ``utc_offset_minutes``: zone assumed for timestamps sent without an offset (None = UTC).
- ``unit_overrides``: measurand → the unit its values are really in (OpenEVSE Q6).
- ``energy_scale``: factor applied to energy samples (a firmware's x10 error, Keba Q9).
- ``begin_zero_is_placeholder``: a ``Transaction.Begin`` register of 0 is a placeholder
  (Iocharger Q11, Growatt Q12), not a meter reset.
- ``session_energy_register``: the register bound to a transaction is session energy
  restarting at 0 (ABB Q10).

Hooks (``review_*``) amend a draft in place and may read/update the charger's state;
``implied_stop`` returns a typed ``ImpliedStop`` (Zaptec Q19) instead of smuggling an event
through the draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from adapters.meter import Sample
from adapters.state import ChargerState
from adapters.timestamps import parse_charger_time
from adapters.values import add_issue
from canonical.enums import TimestampIssue, ValueIssue


@cache
def compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class Adapter:
    """Generic OCPP 1.6J / 2.0.1 normalization; stateless (state lives in ``ChargerState``)."""

    name: ClassVar[str] = "generic"
    description: ClassVar[str] = "plain OCPP 1.6J / 2.0.1"
    #: What it serves, matched against the BootNotification: regexes and a firmware range
    #: ``[firmware_min, firmware_max)`` compared number by number.
    vendor: ClassVar[str | None] = None
    model: ClassVar[str | None] = None
    firmware_min: ClassVar[str | None] = None
    firmware_max: ClassVar[str | None] = None
    utc_offset_minutes: ClassVar[int | None] = None
    unit_overrides: ClassVar[dict[str, str]] = {}
    energy_scale: ClassVar[float] = 1.0
    begin_zero_is_placeholder: ClassVar[bool] = False
    session_energy_register: ClassVar[bool] = False

    @property
    def vendor_re(self) -> re.Pattern[str] | None:
        return compiled(self.vendor) if self.vendor else None

    @property
    def model_re(self) -> re.Pattern[str] | None:
        return compiled(self.model) if self.model else None

    def parse_time(self, value: Any) -> tuple[int | None, TimestampIssue | None]:
        return parse_charger_time(value, self.utc_offset_minutes)

    def id_tag(self, tag: str | None, state: ChargerState) -> tuple[str | None, str | None]:
        """(id tag as the operator knows it, detail noting a repair)."""
        return tag, None

    def sample_transaction(self, key: str | None, raw: str | None, slot: str,
                           state: ChargerState) -> tuple[str | None, ValueIssue | None]:
        """(transaction key, value issue) for a sample: placeholders → the open transaction."""
        if key is None:
            return state.open_tx.get(slot), None
        return key, None

    def review_sample(self, sample: Sample, state: ChargerState, slot: str,
                      tx_bound: bool) -> None:
        if sample.energy_kind is None:
            return
        if self.energy_scale != 1.0:
            sample.value *= self.energy_scale
            sample.flag(ValueIssue.scale_corrected)
        if self.session_energy_register and tx_bound and sample.energy_kind == "register":
            sample.energy_kind = "session"
        if (self.begin_zero_is_placeholder and sample.value == 0
                and sample.context == "Transaction.Begin"):
            sample.flag(ValueIssue.placeholder_zero)
            return
        if sample.is_register and sample.energy_kind == "register":
            self.track_register(sample, state, slot)

    def track_register(self, sample: Sample, state: ChargerState, slot: str) -> None:
        """Remember the cumulative register. Whether a lower value is a reset, a per-
        transaction meter or a sample delivered late is for the flows to judge, from the
        session's evidence in protocol order, not here in arrival order."""
        state.remember(state.last_register, slot, sample.value)

    def stop_transaction_key(self, key: str | None, raw: str | None,
                             state: ChargerState) -> tuple[str | None, ValueIssue | None]:
        """(key, value issue) for a Stop: a placeholder id (Q16 -1, Q18 0) names the one
        transaction open on the charger, when there is exactly one."""
        if key is None and raw is not None and len(state.open_tx) == 1:
            return next(iter(state.open_tx.values())), ValueIssue.placeholder_tx_id_resolved
        return key, None

    def review_start(self, fields: dict[str, Any], state: ChargerState, slot: str) -> None:
        """A start below the previous stop on the same slot is flagged (Q14, Q15)."""
        meter, last_stop = fields.get("meter_wh"), state.last_stop_wh.get(slot)
        if meter is not None and last_stop is not None and meter < last_stop:
            fields["value_issues"] = add_issue(fields.get("value_issues", ()),
                                               ValueIssue.below_previous_stop)

    def review_stop(self, fields: dict[str, Any], state: ChargerState) -> None:
        """A stop below its own start is flagged (Huawei Q8 repairs it)."""
        key, meter = fields.get("transaction_key"), fields.get("meter_wh")
        start = state.tx_start_wh.get(key) if key else None
        if meter is not None and start is not None and meter < start:
            fields["value_issues"] = add_issue(fields.get("value_issues", ()),
                                               ValueIssue.stop_below_start)

    def review_status(self, fields: dict[str, Any], state: ChargerState, slot: str) -> None:
        """Status events carry the transaction open on their slot."""
        fields["transaction_key"] = state.open_tx.get(slot)

    def implied_stop(self, status: str, transaction_key: str | None, state: ChargerState,
                     slot: str) -> ImpliedStop | None:
        """A stop this status implies for chargers that do not send one (none in OCPP)."""
        return None


@dataclass(frozen=True, slots=True)
class ImpliedStop:
    """A stop an adapter infers (Zaptec Q19): the handler emits it as ``transaction_stopped``
    after the status, at the last register, flagged ``synthesized_stop``."""

    transaction_key: str
    meter_wh: float | None
    reason: str = "implicit_stop"
