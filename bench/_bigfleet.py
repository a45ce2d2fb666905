"""A big simulated fleet as Arrow tables, built with numpy/pyarrow column operations (no per-row
Python), for ``bench/bigwarehouse.py``.

The fleet: ``chargers`` OCPP 1.6 chargers over ``days`` days ending at ``end_ns``. Each charger
lives "days" of 24 h that start at its own phase (so sessions are spread over the clock and
some are still running at the end); in each it has 3-6 sessions (lognormal, median 75 min,
7.4-22 kW), MeterValues every 60 s while charging, a Heartbeat every 5 min, a StatusNotification
at start and stop, an Authorize before. About 2 % of charger-days have an offline span of 10-60
min (disconnect, reconnect, BootNotification, a ``charger_offline`` alert); 3 % of chargers run a
clock 90 s fast (a ``clock_drift`` alert a day); 1 % of sessions are a meter mismatch (flagged,
alerted, held by finance); one boot loop a day; 15 chargers go silent 30 min before the end.
Deterministic by seed. Every table comes out sorted by charger then time, as compaction leaves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from canonical import Alert, ChargerHealth, SessionRecord, schema_of

SEC = 1_000_000_000
MIN = 60 * SEC
DAY = 86_400 * SEC
MINUTES = 1440
END_NS = int(datetime(2026, 1, 31, 18, tzinfo=UTC).timestamp()) * SEC
MODELS = [("ABB", "Terra AC", "1.2.3", 22_000), ("ABB", "Terra AC", "1.3.0", 22_000),
          ("Alfen", "Eve Single", "4.0.1", 11_000), ("Keba", "P30", "1.2.3", 11_000),
          ("Wallbox", "Pulsar Plus", "5.17.0", 7_400), ("Alfen", "Eve Double", "4.1.0", 22_000)]
TS = pa.timestamp("ns", tz="UTC")


@dataclass(frozen=True)
class Fleet:
    """The chargers (index ``c`` everywhere below) and their fixed traits."""

    seed: int
    days: int
    chargers: int
    ids: pa.Array
    model: np.ndarray        # index into MODELS
    drift_s: np.ndarray
    phase_min: np.ndarray    # minute of the day each charger's "day" starts
    beat_phase: np.ndarray   # heartbeat minute modulo 5
    beat_offset_s: np.ndarray
    silent: np.ndarray       # bool: goes silent 30 min before the end

    @property
    def start_ns(self) -> int:
        return END_NS - self.days * DAY


def make_fleet(seed: int, days: int, chargers: int) -> Fleet:
    rng = np.random.default_rng([seed, 0])
    silent = np.zeros(chargers, bool)
    silent[rng.choice(chargers, min(15, chargers), replace=False)] = True
    return Fleet(seed, days, chargers, pa.array([f"CP{c:04d}" for c in range(chargers)]),
                 rng.integers(0, len(MODELS), chargers),
                 np.where(rng.random(chargers) < 0.03, 90.0, rng.normal(0.3, 0.2, chargers)),
                 rng.integers(0, MINUTES, chargers), rng.integers(0, 5, chargers),
                 rng.integers(0, 60, chargers), silent)


# --- helpers ------------------------------------------------------------------------------

def text(*parts: Any) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    args = [p if isinstance(p, pa.Array | pa.ChunkedArray) else pa.scalar(str(p)) for p in parts]
    return pc.binary_join_element_wise(*args, "")


def num(values: np.ndarray) -> pa.Array:
    return pa.array(values).cast(pa.string())


def iso(ns: np.ndarray) -> pa.Array:
    seconds = pa.array(ns, pa.int64()).cast(TS).cast(pa.timestamp("s", tz="UTC"), safe=False)
    return pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ")


def table_of(record_type: type, n: int, columns: dict[str, Any]) -> pa.Table:
    """A table of ``record_type``'s schema: given columns (arrays, numpy, or one scalar for
    every row), the rest null."""
    schema = schema_of(record_type)
    arrays = []
    for field in schema:
        value = columns.get(field.name)
        if value is None:
            arrays.append(pa.nulls(n, field.type))
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            arrays.append(value.cast(field.type))
        elif isinstance(value, np.ndarray):
            arrays.append(pa.array(value).cast(field.type))
        else:
            arrays.append(pa.repeat(pa.scalar(value, field.type), n))
    return pa.Table.from_arrays(arrays, schema=schema)


def runs(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of ``counts`` rows: each row's group and its index within the group."""
    group = np.repeat(np.arange(len(counts)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return group, np.arange(len(group)) - first


def sort_by_charger(table: pa.Table, time_column: str) -> pa.Table:
    return table.sort_by([("charge_point_id", "ascending"), (time_column, "ascending")])


# --- sessions -----------------------------------------------------------------------------

def plan_sessions(fleet: Fleet) -> dict[str, np.ndarray]:
    """Every session of every charger-day, as columns; rows sorted by charger then time.
    Sessions starting after the end are dropped; those still running at the end are active."""
    rng = np.random.default_rng([fleet.seed, 1])
    per_day = rng.integers(3, 7, size=fleet.chargers * fleet.days)
    cd, j = runs(per_day)
    c, day = cd // fleet.days, cd % fleet.days
    n = len(cd)
    slot_s = MINUTES * 60 // per_day[cd]
    dur_s = np.clip(rng.lognormal(np.log(75 * 60), 0.6, n), 600, slot_s - 600).astype(np.int64)
    lead_s = (rng.random(n) * (slot_s - dur_s - 300)).astype(np.int64)
    start = (fleet.start_ns + day * DAY + fleet.phase_min[c] * MIN
             + (j * slot_s + lead_s) * SEC + rng.integers(0, SEC, n))
    rated = np.array([m[3] for m in MODELS])[fleet.model[c]]
    power_w = np.round(rated * rng.uniform(0.55, 1.0, n), -1)
    energy_wh = np.round(power_w * dur_s / 3600.0)
    first_of_charger = np.searchsorted(c, c)
    before = np.cumsum(energy_wh) - energy_wh
    meter_start = 1_000_000.0 * (c % 7) + before - before[first_of_charger]
    keep = start < END_NS
    plan = {"c": c, "day": day, "tx": np.arange(n) - first_of_charger + 1, "start": start,
            "stop": start + dur_s * SEC, "power_w": power_w, "energy_wh": energy_wh,
            "meter_start": meter_start, "connector": 1 + j % 2,
            "tag": rng.integers(0, 20_000, n), "mismatch": rng.random(n) < 0.01}
    return {k: v[keep] for k, v in plan.items()}


def window(plan: dict[str, np.ndarray], day: int) -> dict[str, np.ndarray]:
    mask = plan["day"] == day
    return {k: v[mask] for k, v in plan.items()}


def samples(s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One meter sample a minute after the start, every 60 s, until the stop or the end."""
    last = np.minimum(s["stop"], END_NS)
    counts = np.maximum((last - s["start"] - 1) // MIN, 0)
    row, k = runs(counts)
    at = s["start"][row] + (k + 1) * MIN
    register = s["meter_start"][row] + np.round(s["power_w"][row] * (k + 1) / 60.0)
    return {"row": row, "at": at, "register": register, "power_w": s["power_w"][row]}


# --- one day: health grid, sessions, alerts -----------------------------------------------

@dataclass(frozen=True)
class Day:
    """One simulated day (``day0`` + 1440 minutes) as (charger, minute) grids."""

    index: int
    day0: int
    sessions: dict[str, np.ndarray]   # the sessions starting in this day's windows
    active: np.ndarray                # int sessions in progress
    power_w: np.ndarray
    online: np.ndarray
    reported: np.ndarray              # a health row exists (not after the end, not silent)
    beat: np.ndarray                  # a heartbeat is sent in this minute
    span_c: np.ndarray                # offline spans: charger, first minute, minutes
    span_m: np.ndarray
    span_len: np.ndarray


def make_day(fleet: Fleet, plan: dict[str, np.ndarray], d: int) -> Day:
    day0 = fleet.start_ns + d * DAY
    both = {k: np.concatenate([window(plan, d - 1)[k], window(plan, d)[k]]) for k in plan}
    edges = np.zeros((fleet.chargers, MINUTES + 1))
    active, power = edges.copy(), edges.copy()
    first = np.clip(-(-(both["start"] - day0) // MIN), 0, MINUTES)
    last = np.clip(-(-(np.minimum(both["stop"], END_NS) - day0) // MIN), 0, MINUTES)
    for grid, value in ((active, 1.0), (power, both["power_w"])):
        np.add.at(grid, (both["c"], first), value)
        np.add.at(grid, (both["c"], last), -value)
    rng = np.random.default_rng([fleet.seed, 2, d])
    span_c = np.flatnonzero(rng.random(fleet.chargers) < 0.02)
    span_m = rng.integers(0, MINUTES - 60, len(span_c))
    span_len = rng.integers(10, 61, len(span_c))
    offline = np.zeros_like(edges)
    np.add.at(offline, (span_c, span_m), 1)
    np.add.at(offline, (span_c, span_m + span_len), -1)
    online = np.cumsum(offline, axis=1)[:, :MINUTES] == 0
    minute = day0 + np.arange(MINUTES) * MIN
    reported = (minute < END_NS)[None, :] & ~(
        fleet.silent[:, None] & (minute >= END_NS - 30 * MIN)[None, :])
    beat = ((np.arange(MINUTES)[None, :] + fleet.beat_phase[:, None]) % 5 == 0) & online
    return Day(d, day0, window(plan, d), np.round(np.cumsum(active, axis=1)[:, :MINUTES]),
               np.round(np.cumsum(power, axis=1)[:, :MINUTES]), online, reported,
               beat & reported, span_c, span_m, span_len)


def health_table(fleet: Fleet, day: Day) -> pa.Table:
    """charger_health: one row per charger per reported minute."""
    c, m = np.nonzero(day.reported)
    rng = np.random.default_rng([fleet.seed, 3, day.index])
    n = len(c)
    online = day.online[c, m]
    reconnect = np.zeros_like(day.online)
    reconnect[day.span_c, np.minimum(day.span_m + day.span_len, MINUTES - 1)] = True
    model = fleet.model[c]
    beat = day.beat[c, m]
    active = day.active[c, m].astype(np.int64)
    minute = day.day0 + m * MIN
    return table_of(ChargerHealth, n, {
        "charge_point_id": fleet.ids.take(pa.array(c)), "minute": minute, "online": online,
        "online_s": np.where(online, 60.0, 0.0), "reconnects": reconnect[c, m].astype(np.int64),
        "heartbeats": beat.astype(np.int64), "heartbeat_interval_s": 300.0,
        "response_time_ms": np.round(rng.gamma(4.0, 30.0, n), 1),
        "frames_in": beat.astype(np.int64) + active,
        "vendor": pa.array([v for v, *_ in MODELS]).take(pa.array(model)),
        "model": pa.array([m_ for _, m_, *_ in MODELS]).take(pa.array(model)),
        "firmware_version": pa.array([f for _, _, f, _ in MODELS]).take(pa.array(model)),
        "drift_s": np.round(fleet.drift_s[c] + rng.normal(0, 0.05, n), 2),
        "sessions_active": active, "power_w": np.where(online, day.power_w[c, m], 0.0),
        "updated_at": minute + MIN + 2 * SEC})


def sessions_table(fleet: Fleet, day: Day, start_frame: np.ndarray | None,
                   stop_frame: np.ndarray | None) -> pa.Table:
    """sessions: version 1 (active) at each start, version 2 (completed) at each stop before
    the end. ``*_frame`` are the frame ids of the start and stop (None without frames)."""
    s = day.sessions
    done = s["stop"] < END_NS
    tx, cp = num(s["tx"]), fleet.ids.take(pa.array(s["c"]))
    base = {"session_id": text(cp, "/", tx), "charge_point_id": cp, "transaction_id": tx,
            "connector_id": s["connector"], "id_tag": text("TAG", num(s["tag"])),
            "protocol": "ocpp1.6", "started_at": s["start"],
            "started_at_raw": iso(s["start"] + (fleet.drift_s[s["c"]] * SEC).astype(np.int64)),
            "start_frame_id": start_frame, "meter_start_wh": s["meter_start"],
            "energy_rule": "pending", "sample_count": 0,
            "flags": pa.repeat(pa.scalar([], pa.list_(pa.string())), len(tx)),
            "clock_offset_s": np.round(fleet.drift_s[s["c"]], 1)}
    v1 = table_of(SessionRecord, len(tx), {**base, "version": 1, "status": "active",
                                           "last_event_at": s["start"],
                                           "updated_at": s["start"] + SEC})
    samples_wh = np.where(s["mismatch"], np.round(s["energy_wh"] * 0.85), s["energy_wh"] - 3)
    flags = pa.ListArray.from_arrays(
        np.concatenate([[0], np.cumsum(s["mismatch"])]).astype(np.int32),
        pa.repeat(pa.scalar("meter_mismatch"), int(s["mismatch"].sum())))
    stopped = s["stop"] + (fleet.drift_s[s["c"]] * SEC).astype(np.int64)
    v2 = table_of(SessionRecord, len(tx), {
        **base, "version": 2, "status": "completed", "stopped_at": s["stop"],
        "stopped_at_raw": iso(stopped), "stop_frame_id": stop_frame,
        "meter_stop_wh": s["meter_start"] + s["energy_wh"], "energy_wh": s["energy_wh"],
        "energy_rule": "register_delta", "samples_energy_wh": samples_wh,
        "sample_count": (s["stop"] - s["start"]) // MIN, "max_power_w": s["power_w"],
        "stop_reason": "Local", "flags": flags, "last_event_at": s["stop"],
        "updated_at": s["stop"] + SEC}).filter(pa.array(done))
    return sort_by_charger(pa.concat_tables([v1, v2]), "updated_at")


def alerts_table(fleet: Fleet, day: Day) -> pa.Table:
    """alerts: charger offline (5 min into a span), meter mismatch (a minute after the stop),
    clock drift (daily, chargers 90 s off), one boot loop a day."""
    s = day.sessions
    mm = s["mismatch"] & (s["stop"] + MIN < END_NS)
    drifting = np.flatnonzero(np.abs(fleet.drift_s) > 60)
    loop = np.random.default_rng([fleet.seed, 4, day.index]).integers(0, fleet.chargers, 1)
    parts = [
        ("charger_offline", "warning", day.span_c, day.day0 + (day.span_m + 5) * MIN,
         day.span_len * 60.0, "s", None),
        ("meter_mismatch", "warning", s["c"][mm], s["stop"][mm] + MIN,
         np.round(s["energy_wh"][mm] * 0.15), "Wh", s["tx"][mm]),
        ("clock_drift", "warning", drifting,
         day.day0 + fleet.phase_min[drifting] * MIN + 7 * MIN, fleet.drift_s[drifting], "s",
         None),
        ("boot_loop", "critical", loop, day.day0 + 13 * 3600 * SEC, np.array([4.0]), "boots",
         None)]
    tables = [_alerts(fleet, day.index, p) for p in parts]
    table = pa.concat_tables(tables)
    return sort_by_charger(table.filter(pc.less(table["detected_at"],
                                                pa.scalar(END_NS, pa.int64()).cast(TS))),
                           "detected_at")


def _alerts(fleet: Fleet, d: int, part: tuple[Any, ...]) -> pa.Table:
    """Alerts of one kind from (kind, severity, chargers, detected_at, value, unit, tx)."""
    kind, severity, c, at, value, unit, tx = part
    cp = fleet.ids.take(pa.array(c, pa.int64()))
    n = len(c)
    session = text(cp, "/", num(tx)) if tx is not None else None
    return table_of(Alert, n, {
        "alert_id": text(f"{kind}:", cp, f":{d}:", num(np.arange(n))), "kind": kind,
        "severity": severity, "charge_point_id": cp, "session_id": session,
        "detected_at": at, "event_time": at - 5 * MIN, "value": value, "unit": unit,
        "message": text(f"{kind} on ", cp)})
