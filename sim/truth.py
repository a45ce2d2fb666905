"""The truth file: JSONL of what really happened (sessions, true energy, labelled faults)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from canonical.raw import ns_to_rfc3339


class Truth:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = path.open("wb")

    def write(self, row: dict[str, Any]) -> None:
        self.file.write(orjson.dumps(row) + b"\n")
        self.file.flush()

    def session(self, cp: str, connector: int, tx: str, start_ns: int, stop_ns: int,
                energy_wh: float) -> None:
        self.write({"type": "session", "charge_point_id": cp, "connector_id": connector,
                    "transaction_id": tx, "started_at": ns_to_rfc3339(start_ns),
                    "stopped_at": ns_to_rfc3339(stop_ns), "energy_wh": round(energy_wh, 3)})

    def fault(self, kind: str, cp: str, tx: str | None, at_ns: int, detail: str = "") -> None:
        self.write({"type": "fault", "kind": kind, "charge_point_id": cp, "transaction_id": tx,
                    "at": ns_to_rfc3339(at_ns), "detail": detail})

    def close(self) -> None:
        self.file.close()
