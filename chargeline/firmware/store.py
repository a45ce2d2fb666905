"""Where rollouts live: ``<data_dir>/rollouts/<id>.json`` (the state, written only by the
agent once it runs: atomic, durable) and ``<id>.control.json`` (the operator's last request,
written only by ``chargeline firmware pause|resume|abort``). One writer per file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from canonical.errors import ChargelineError
from canonical.rollouts import OperatorRequest, Rollout
from ingest.files import OS, write_atomically

ROLLOUTS = "rollouts"
_ID = re.compile(r"^[A-Za-z0-9._-]{1,80}$")


class UnknownRollout(ChargelineError):
    """No rollout of that id; the message lists the ids there are."""


@dataclass(frozen=True, slots=True)
class Control:
    request: OperatorRequest
    at: int
    by: str


def rollouts_dir(data_dir: Path) -> Path:
    return data_dir / ROLLOUTS


def check_id(rollout_id: str) -> str:
    if not _ID.match(rollout_id):
        raise ValueError(f"rollout id {rollout_id!r}: letters, digits, '.', '_', '-' only")
    return rollout_id


def save(data_dir: Path, rollout: Rollout) -> None:
    """Durably replace the rollout's state (after a crash: the old state or the new)."""
    folder = rollouts_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(OS, folder / f"{check_id(rollout.rollout_id)}.json", rollout.to_json())


def load(data_dir: Path, rollout_id: str) -> Rollout:
    path = rollouts_dir(data_dir) / f"{check_id(rollout_id)}.json"
    if not path.exists():
        known = ", ".join(list_ids(data_dir)) or "none"
        raise UnknownRollout(f"no rollout {rollout_id!r} in {path.parent} (there are: {known})")
    return Rollout.from_json(path.read_bytes())


def list_ids(data_dir: Path) -> list[str]:
    folder = rollouts_dir(data_dir)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if not p.stem.endswith(".control"))


def request(data_dir: Path, rollout_id: str, what: OperatorRequest, at: int, by: str) -> None:
    load(data_dir, rollout_id)  # it must exist
    body = orjson.dumps({"request": what.value, "at": at, "by": by})
    write_atomically(OS, rollouts_dir(data_dir) / f"{rollout_id}.control.json", body)


def control(data_dir: Path, rollout_id: str) -> Control | None:
    path = rollouts_dir(data_dir) / f"{rollout_id}.control.json"
    try:
        data = orjson.loads(path.read_bytes())
        return Control(OperatorRequest(data["request"]), int(data["at"]), str(data["by"]))
    except FileNotFoundError:
        return None
