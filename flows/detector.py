"""The detector contract: what one charger's detectors look like to its pipeline.

A detector is a plain, picklable object built per charger from ``(charge_point_id,
config)``; the pipeline hands it every canonical event in order (``apply``) and the
watermark of server time (``advance``, for its timers), and it answers with alerts. It may
read the charger's other detectors through ``charger`` (sessions correct times with the
drift estimate; the stuck watchdog asks health whether the charger is online). ``KINDS`` says
which alert kinds it raises (their severity is the kind's, ``flows.alerts.SEVERITY``).

Adding one is one file with such a class and one line in ``flows.detectors.DETECTORS``: the
pipeline applies, advances and snapshots every registered detector, in registry order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from canonical.enums import AlertKind
from canonical.events import CanonicalEvent
from canonical.findings import Alert
from flows.config import FlowConfig

if TYPE_CHECKING:
    from flows.charger import ChargerPipeline


class Detector(Protocol):
    KINDS: ClassVar[frozenset[AlertKind]]
    #: False when ``advance`` never raises anything (no timers): the pipeline skips it then.
    TIMED: ClassVar[bool]

    def __init__(self, charge_point_id: str, config: FlowConfig) -> None: ...

    def apply(self, event: CanonicalEvent, charger: ChargerPipeline) -> list[Alert]:
        """The alerts this event raises (it has been normalized; earlier ones applied)."""
        ...

    def advance(self, now: int, charger: ChargerPipeline) -> list[Alert]:
        """The alerts of timers due by ``now`` (server time, UTC ns)."""
        ...
