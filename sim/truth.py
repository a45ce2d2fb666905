"""The truth file: JSONL of what really happened. Rows, by ``type``:

- ``run``: the run's parameters; ``end``: when the fleet stopped (alerts after it not scored).
- ``charger``: ``charge_point_id``, ``vendor``, ``protocol``, ``profiles`` (its client
  profiles), ``fault`` (the fault name it carries, or null) and ``fault_kind``.
- ``session``: ``charge_point_id``, ``connector_id``, ``transaction_id``, ``started_at``,
  ``stopped_at`` (UTC, the true instants), ``energy_wh`` (delivered), ``profiles`` (those that
  shaped it) and ``fault`` (the fault name it carries, or null).
- ``fault``: ``kind`` (the alert that should catch it, an ``AlertKind`` value), ``fault`` (its
  name), ``charge_point_id``, ``transaction_id``, ``at`` (UTC), ``detail``.
- ``downtime``: a port truly down: ``charge_point_id``, ``connector_id`` (null: every port),
  ``cause`` (a ``canonical.uptime.DowntimeCause`` value), ``from``, ``to`` (UTC), ``detail``
  (``sim.downtime``; offline rows for every stretch the charger had no connection).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from canonical.raw import ns_to_rfc3339
from sim.plan import ALL_FAULTS


class Truth:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("wb")

    def write(self, row: dict[str, Any]) -> None:
        if self.file.closed:  # the run has ended: the fleet disconnecting is no finding
            return
        self.file.write(orjson.dumps(row) + b"\n")
        self.file.flush()

    def session(self, cp: str, connector: int, tx: str, start_ns: int, stop_ns: int,
                energy_wh: float, profiles: list[str], fault: str | None) -> None:
        self.write({"type": "session", "charge_point_id": cp, "connector_id": connector,
                    "transaction_id": tx, "started_at": ns_to_rfc3339(start_ns),
                    "stopped_at": ns_to_rfc3339(stop_ns), "energy_wh": round(energy_wh, 3),
                    "profiles": profiles, "fault": fault})

    def fault(self, name: str, cp: str, tx: str | None, at_ns: int, detail: str = "") -> None:
        """``name``: a fault of ``sim.plan.ALL_FAULTS`` (labelled with its kind), or an
        alert kind itself (the offline and stuck rows a late stop also causes)."""
        self.write({"type": "fault", "kind": ALL_FAULTS.get(name, name), "fault": name,
                    "charge_point_id": cp, "transaction_id": tx, "at": ns_to_rfc3339(at_ns),
                    "detail": detail})

    def downtime(self, cp: str, connector: int | None, cause: str, from_ns: int, to_ns: int,
                 detail: str = "") -> None:
        self.write({"type": "downtime", "charge_point_id": cp, "connector_id": connector,
                    "cause": str(cause), "from": ns_to_rfc3339(from_ns),
                    "to": ns_to_rfc3339(to_ns), "detail": detail})

    def close(self) -> None:
        self.file.close()
