"""What a driver app and the operator dashboard both show of a session while it runs, and of
a charger's connectors: one read model (``warehouse.live`` builds it), so the two cannot
disagree. Times are UTC datetimes; energy in kWh, power in kW.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from canonical.enums import SessionStatus
from canonical.tariffs import SessionCost


class Availability(StrEnum):
    """A connector as a driver sees it (OCPI's EVSE status names the same states)."""

    available = "available"      # Available
    occupied = "occupied"        # Preparing, Charging, SuspendedEV(SE), Finishing, Occupied
    reserved = "reserved"
    unavailable = "unavailable"  # taken out of service (ChangeAvailability Inoperative)
    faulted = "faulted"
    offline = "offline"          # the charger is not connected: its last status is old news
    unknown = "unknown"          # never reported


#: OCPP 1.6 ChargePointStatus and 2.0.1 ConnectorStatusEnumType → availability.
_OF_STATUS = {
    "Available": Availability.available, "Preparing": Availability.occupied,
    "Charging": Availability.occupied, "SuspendedEV": Availability.occupied,
    "SuspendedEVSE": Availability.occupied, "Finishing": Availability.occupied,
    "Occupied": Availability.occupied, "Reserved": Availability.reserved,
    "Unavailable": Availability.unavailable, "Faulted": Availability.faulted}


def availability_of(status: str | None, online: bool) -> Availability:
    """A connector's availability from its last reported status and its charger's link."""
    if not online:
        return Availability.offline
    if status is None:
        return Availability.unknown
    return _OF_STATUS.get(status, Availability.unknown)


@dataclass(frozen=True, slots=True)
class LiveSession:
    """One session now. ``power_kw`` is the latest power sample's (None once stopped, or
    when the charger sends neither power nor a register to derive it from); ``duration_s``
    runs to ``as_of`` while active. ``cost``: so far, by the tariff in force at the start
    (``warehouse.cost``, the SQL that prices ``finance_sessions``); ``cost_provisional``
    unless the session completed (running, stuck, or closed by anything but its stop)."""

    session_id: str
    charge_point_id: str
    connector_id: int | None
    evse_id: int | None
    status: SessionStatus
    started_at: datetime | None
    stopped_at: datetime | None
    duration_s: float | None
    energy_kwh: float | None
    power_kw: float | None
    sampled_at: datetime | None
    cost: SessionCost | None
    cost_provisional: bool
    as_of: datetime


@dataclass(frozen=True, slots=True)
class ConnectorState:
    evse_id: int | None
    connector_id: int
    availability: Availability
    status: str | None           # what the charger last said (its protocol's word)
    since: datetime | None


@dataclass(frozen=True, slots=True)
class ChargerAvailability:
    charge_point_id: str
    online: bool
    last_seen_at: datetime | None
    connectors: tuple[ConnectorState, ...]
    as_of: datetime
