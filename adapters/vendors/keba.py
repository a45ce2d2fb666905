"""KEBA P30/P40 (Q9, Q16, Q27): the idTag arrives as ``<tag>_<serial>``; connector 0 meters
the sum of the connectors; Stop with ``transactionId -1`` (generic placeholder resolution).
P40 firmware 1.2.2's x10 energy error is declared in ``vendors.toml`` (data only)."""

from adapters.base import Adapter
from adapters.meter import Sample
from adapters.state import ChargerState
from canonical.enums import ValueIssue


class Keba(Adapter):
    name = "keba"
    description = "KEBA: idTag_<serial> suffix removed, connector 0 is a sum (Q27)"
    vendor = r"(?i)keba"

    def id_tag(self, tag: str | None, state: ChargerState) -> tuple[str | None, str | None]:
        suffix = f"_{state.serial}" if state.serial else None
        if tag and suffix and tag.endswith(suffix) and len(tag) > len(suffix):
            return tag[: -len(suffix)], "idtag_serial_suffix_removed"
        return tag, None

    def review_sample(self, sample: Sample, state: ChargerState, slot: str,
                      tx_bound: bool) -> None:
        if slot == "0" and sample.energy_kind is not None:
            sample.flag(ValueIssue.connector0_sum)
            return
        super().review_sample(sample, state, slot, tx_bound)
