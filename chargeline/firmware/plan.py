"""Making a rollout: the cohort (``charger_status``), its waves, the baseline of its sessions
before the update, and what each command carries (step key, message id, payload).

Waves are cumulative percentages taken **per model**: ``5%,25%,100%`` puts ceil(5 %) of
every model's chargers (at least one) in the first wave, so a model that misbehaves on the
new image shows it in the first wave, on a few of its chargers, whatever the fleet's mix.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canonical.enums import EventType, Protocol
from canonical.rollouts import Baseline, ChargerTrack, Rollout, Wave
from chargeline.firmware.gates import metering_flagged, session_ok
from warehouse.catalog import connect, query

BASELINE_DAYS = 7

#: The latest boot of each charger (``events``) over its ``charger_status`` row: a charger
#: is in the cohort from its first boot, not from its first closed health minute.
_COHORT_SQL = f"""
with

boots as (
    select charge_point_id, arg_max(vendor, server_received_at) as vendor,
        arg_max(model, server_received_at) as model,
        arg_max(firmware_version, server_received_at) as firmware_version
    from events
    where event_type = '{EventType.booted.value}'
    group by charge_point_id
),

latest as (
    select charge_point_id, coalesce(b.vendor, s.vendor) as vendor,
        coalesce(b.model, s.model) as model,
        coalesce(b.firmware_version, s.firmware_version) as firmware_version
    from charger_status as s
    full join boots as b using (charge_point_id)
),

final as (
    select * from latest
    where model is not null
        and ($model is null or model = $model) and ($vendor is null or vendor = $vendor)
        and ($from_version is null or firmware_version = $from_version)
        and firmware_version is distinct from $to_version
)

select * from final order by model, charge_point_id
"""

_BASELINE_SQL = """
select charge_point_id, status, flags from sessions
where list_contains($ids, charge_point_id) and stopped_at is not null
  and started_at >= to_timestamp($since / 1e9) and started_at < to_timestamp($until / 1e9)
"""


@dataclass(frozen=True, slots=True)
class CohortMember:
    charge_point_id: str
    vendor: str | None
    model: str
    firmware_version: str | None


def parse_waves(text: str) -> list[float]:
    """``5%,25%,100%`` → [5.0, 25.0, 100.0]: rising, ending at 100."""
    try:
        waves = [float(part.strip().rstrip("%")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--waves {text!r}: percentages like 5%,25%,100%") from None
    if not waves or waves[-1] != 100 or waves[0] <= 0 \
            or any(b <= a for a, b in itertools.pairwise(waves)):
        raise ValueError(f"--waves {text!r}: rising percentages above 0, the last 100%")
    return waves


def cohort(data_dir: Path, to_version: str, filters: dict[str, str | None]
           ) -> list[CohortMember]:
    """The chargers a rollout takes: their latest known model and firmware match."""
    con = connect(data_dir)
    try:
        rows = query(con, data_dir, _COHORT_SQL, filters | {"to_version": to_version})
    finally:
        con.close()
    return [CohortMember(**row) for row in rows.to_pylist()]


def split_waves(members: list[CohortMember], percents: list[float]) -> list[ChargerTrack]:
    """Each member's track, in the first wave whose cumulative share of its model holds it."""
    by_model: dict[str, list[CohortMember]] = {}
    for m in members:
        by_model.setdefault(m.model, []).append(m)
    tracks: list[ChargerTrack] = []
    for model, group in sorted(by_model.items()):
        done = 0
        for index, pct in enumerate(percents):
            upto = max(done + (1 if done < len(group) else 0),
                       math.ceil(len(group) * pct / 100 - 1e-9))
            tracks += [ChargerTrack(m.charge_point_id, index, m.vendor, model,
                                    m.firmware_version) for m in group[done:upto]]
            done = upto
    return tracks


def baseline(data_dir: Path, tracks: list[ChargerTrack], until_ns: int) -> dict[str, Baseline]:
    """Per model, the cohort's finished sessions of the ``BASELINE_DAYS`` before ``until``."""
    model_of = {t.charge_point_id: t.model for t in tracks}
    since = until_ns - BASELINE_DAYS * 86_400 * 1_000_000_000
    con = connect(data_dir)
    try:
        rows = query(con, data_dir, _BASELINE_SQL,
                     {"ids": list(model_of), "since": since, "until": until_ns}).to_pylist()
    finally:
        con.close()
    out = {model: Baseline() for model in sorted(set(model_of.values()))}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(model_of[row["charge_point_id"]], []).append(row)
    for model, sessions in grouped.items():
        n = len(sessions)
        out[model] = Baseline(n, sum(session_ok(s["status"], s["flags"]) for s in sessions) / n,
                              sum(metering_flagged(s["flags"]) for s in sessions) / n)
    return out


def make_rollout(rollout_id: str, created_at: int, tracks: list[ChargerTrack],
                 percents: list[float], **settings: Any) -> Rollout:
    waves = [Wave(i, pct) for i, pct in enumerate(percents)
             if any(t.wave == i for t in tracks)]
    renumber = {w.index: i for i, w in enumerate(waves)}
    for w in waves:
        w.index = renumber[w.index]
    for t in tracks:
        t.wave = renumber[t.wave]
    return Rollout(rollout_id=rollout_id, created_at=created_at, waves=waves, chargers=tracks,
                   **settings)


# -- what a command carries -------------------------------------------------------------
def step_key(rollout_id: str, wave: int | None, charge_point_id: str) -> str:
    """The stable key of one send: ``<rollout>/w<n>/<charger>``, ``<rollout>/rollback/<cp>``."""
    where = "rollback" if wave is None else f"w{wave}"
    return f"{rollout_id}/{where}/{charge_point_id}"


def command_id_of(step: str) -> str:
    """The CALL's message id for ``step``: 32 hex digits, the same after any restart."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"chargeline-firmware:{step}").hex


def request_id_of(step: str) -> int:
    return int.from_bytes(hashlib.sha256(step.encode()).digest()[:4], "big") >> 1


def update_payload(r: Rollout, protocol: Protocol, location: str, step: str,
                   retrieve_at: str) -> dict[str, Any]:
    """UpdateFirmware for the charger's protocol; 2.0.1 with the signed-firmware fields
    when the rollout has them."""
    if protocol == Protocol.v16:
        return {"location": location, "retrieveDate": retrieve_at}
    firmware: dict[str, Any] = {"location": location, "retrieveDateTime": retrieve_at}
    if r.signing_certificate:
        firmware["signingCertificate"] = r.signing_certificate
    if r.signature:
        firmware["signature"] = r.signature
    return {"requestId": request_id_of(step), "firmware": firmware}


def previous_location(r: Rollout, version: str | None) -> str | None:
    """Where the charger's previous image is: ``rollback_location`` with ``{version}``."""
    if r.rollback_location is None or version is None:
        return None
    return r.rollback_location.replace("{version}", version)


def default_rollback_location(location: str, to_version: str) -> str | None:
    """``http://h/fw/9.9.9.bin`` for 9.9.9 → ``http://h/fw/{version}.bin``; None when the
    location does not name the version."""
    return location.replace(to_version, "{version}") if to_version in location else None
