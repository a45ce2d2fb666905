"""Port uptime: why a charging port counts as down, and the downtime an operator excludes.

``DowntimeCause`` is the evidence a port is down (``docs/uptime.md``); its members are in
precedence order: a second both offline and faulted counts once, as ``offline``.
``ExclusionCategory`` is the list of outages 23 CFR 680.116(b)(4) lets an operator leave out
of the uptime figure; an ``UptimeExclusion`` is one such period, as the operator recorded it
(``chargeline uptime exclude``). The simulator's truth rows use the causes too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from canonical.arrow import UtcNs


class DowntimeCause(StrEnum):
    """Evidence that a port could not charge, highest precedence first."""

    offline = "offline"  # no connection, or connected and silent past its heartbeat pace
    faulted = "faulted"  # the port (or its whole charger) reported Faulted
    unavailable = "unavailable"  # reported Unavailable (by itself or on our command)
    failed_starts = "failed_starts"  # starts in a row refused or delivering no energy


#: Precedence of each cause (1 = wins), as the ``downtime_causes`` view holds it.
CAUSE_PRECEDENCE: dict[DowntimeCause, int] = {
    cause: rank for rank, cause in enumerate(DowntimeCause, start=1)}


class ExclusionCategory(StrEnum):
    """Outages 23 CFR 680.116(b)(4) excludes from T_outage (and hours outside operation)."""

    utility = "utility"  # electric utility service interruption
    vehicle = "vehicle"  # failure to charge due to the fault of the vehicle
    maintenance = "maintenance"  # scheduled maintenance
    vandalism = "vandalism"
    disaster = "disaster"  # natural disaster
    hours = "hours"  # outside the station's identified hours of operation


#: The regulation's words for each category (``exclusion_categories`` view, export, docs).
EXCLUSION_TEXT: dict[ExclusionCategory, str] = {
    ExclusionCategory.utility: "electric utility service interruption",
    ExclusionCategory.vehicle: "failure to charge due to the fault of the vehicle",
    ExclusionCategory.maintenance: "scheduled maintenance",
    ExclusionCategory.vandalism: "vandalism",
    ExclusionCategory.disaster: "natural disaster",
    ExclusionCategory.hours: "outside the identified hours of operation",
}


@dataclass(frozen=True, slots=True)
class UptimeExclusion:
    """One excluded period: ``connector_id`` None covers every port of the charger. Times
    UTC, ``excluded_from`` inclusive, ``excluded_until`` exclusive. ``exclusion_id`` is the
    operator's handle (``chargeline uptime remove ID``)."""

    exclusion_id: str
    charge_point_id: str
    connector_id: int | None
    excluded_from: UtcNs
    excluded_until: UtcNs
    category: str
    note: str
    recorded_by: str
    recorded_at: UtcNs
