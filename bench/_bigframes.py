"""The big fleet's journal for one day: OCPP 1.6 frames (each CALL and its CALLRESULT) and the
canonical events the adapters would make of them, built as Arrow columns (see _bigfleet.py).

Frame ids grow with ``received_at`` across the day and continue from the previous day; an
event's id is ``<frame_id>:<index>``. Only chargers ``c < frame_chargers`` get frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from bench._bigfleet import (
    END_NS,
    MIN,
    MODELS,
    SEC,
    Day,
    Fleet,
    iso,
    num,
    samples,
    sort_by_charger,
    table_of,
    text,
)
from canonical import CanonicalEvent, RawFrame

REPLY_NS = 45_000_000  # the CSMS answers 45 ms after a CALL
ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"


@dataclass
class Journal:
    """Frames and events of one day, accumulated by kind, then numbered by ``finish``."""

    fleet: Fleet
    day: int
    frames: list[pa.Table] = field(default_factory=list)
    events: list[tuple[np.ndarray, int, dict[str, Any]]] = field(default_factory=list)
    rows: int = 0

    def add(self, c: np.ndarray, at: np.ndarray, columns: dict[str, Any]) -> np.ndarray:
        """Frames of chargers ``c`` at ``at``; returns their row numbers for ``event``."""
        n = len(c)
        cp = self.fleet.ids.take(pa.array(c, pa.int64()))
        self.frames.append(table_of(RawFrame, n, {
            "frame_id": 0, "received_at": at, "charge_point_id": cp,
            "connection_id": text(cp, f"-{self.day}"), "protocol": "ocpp1.6",
            "direction": "in", "record_kind": "frame", "message_type": 2,
            "parse_status": "ok", **columns}))
        self.rows += n
        return np.arange(self.rows - n, self.rows)

    def call(self, c: np.ndarray, at: np.ndarray, action: str, payload: pa.Array,
             answer: pa.Array) -> np.ndarray:
        """A CALL (``[2,id,action,payload]``) and its CALLRESULT (``[3,id,answer]``)."""
        mid = text(f"{self.day}{action[:2]}", num(np.arange(len(c))))
        rows = self.add(c, at, {"message_id": mid, "action": action,
                                "raw": text('[2,"', mid, f'","{action}",', payload, "]")})
        self.add(c, at + REPLY_NS, {"direction": "out", "message_type": 3, "message_id": mid,
                                    "action": action, "raw": text('[3,"', mid, '",', answer,
                                                                  "]")})
        return rows

    def event(self, rows: np.ndarray, index: int, event_type: str, **columns: Any) -> None:
        self.events.append((rows, index, {"event_type": event_type, **columns}))

    def finish(self, first_id: int) -> tuple[pa.Table, pa.Table, np.ndarray]:
        """(frames, events, frame id of each row), both sorted by charger then time."""
        frames = pa.concat_tables(self.frames)
        order = np.argsort(frames["received_at"].cast(pa.int64()).to_numpy(), kind="stable")
        ids = np.empty(len(order), np.int64)
        ids[order] = first_id + np.arange(len(order))
        frames = frames.set_column(0, "frame_id", pa.array(ids))
        events = pa.concat_tables([_events(frames, ids, *e) for e in self.events])
        return (sort_by_charger(frames, "received_at"),
                sort_by_charger(events, "server_received_at"), ids)



def _events(frames: pa.Table, ids: np.ndarray, rows: np.ndarray, index: int,
            columns: dict[str, Any]) -> pa.Table:
    """Events of frames ``rows`` (row numbers before sorting; ``frames`` is still in that
    order), ``index`` within each frame."""
    picked = frames.select(["charge_point_id", "received_at", "message_id"]).take(rows)
    frame_id = ids[rows]
    return table_of(CanonicalEvent, len(rows), {
        "event_id": text(num(frame_id), f":{index}"), "frame_id": frame_id,
        "charge_point_id": picked["charge_point_id"], "protocol": "ocpp1.6",
        "adapter": "ocpp16", "server_received_at": picked["received_at"],
        "message_id": picked["message_id"], **columns})


# --- what each charger sends ----------------------------------------------------------------

def journal(fleet: Fleet, day: Day, frame_chargers: int
            ) -> tuple[Journal, np.ndarray, np.ndarray]:
    """Heartbeats, sessions and reconnects of ``day`` for chargers below ``frame_chargers``.
    Returns the journal and, per session of the day, the rows of its start and stop frames."""
    j = Journal(fleet, day.index)
    heartbeats(j, day, frame_chargers)
    start_rows, stop_rows = session_frames(j, day, frame_chargers)
    reconnects(j, day, frame_chargers)
    return j, start_rows, stop_rows


def heartbeats(j: Journal, day: Day, upto: int) -> None:
    c, m = np.nonzero(day.beat[:upto])
    at = day.day0 + m * MIN + j.fleet.beat_offset_s[c] * SEC
    rows = j.call(c, at, "Heartbeat", pa.repeat(pa.scalar("{}"), len(c)),
                  text('{"currentTime":"', iso(at), '"}'))
    j.event(rows, 0, "heartbeat")


def reconnects(j: Journal, day: Day, upto: int) -> None:
    """Each offline span: the socket drops, comes back at the span's end with a boot."""
    keep = day.span_c < upto
    c, m, length = day.span_c[keep], day.span_m[keep], day.span_len[keep]
    gone, back = day.day0 + m * MIN + 17 * SEC, day.day0 + (m + length) * MIN + 3 * SEC
    ok = back < END_NS
    c, gone, back = c[ok], gone[ok], back[ok]
    for kind, at in (("disconnected", gone), ("connected", back)):
        rows = j.add(c, at, {"direction": "", "record_kind": kind, "message_type": None,
                             "raw": "", "parse_status": "n/a"})
        j.event(rows, 0, kind)
    model = j.fleet.model[c]
    vendor, name, fw = (pa.array([m_[k] for m_ in MODELS]).take(pa.array(model))
                        for k in range(3))
    rows = j.call(c, back + SEC, "BootNotification",
                  text('{"chargePointVendor":"', vendor, '","chargePointModel":"', name,
                       '","firmwareVersion":"', fw, '"}'),
                  text('{"status":"Accepted","currentTime":"', iso(back + SEC),
                       '","interval":300}'))
    j.event(rows, 0, "booted", vendor=vendor, model=name, firmware_version=fw)


def session_frames(j: Journal, day: Day, upto: int) -> tuple[np.ndarray, np.ndarray]:
    """Authorize, StartTransaction, StatusNotification Charging, MeterValues every 60 s,
    StopTransaction, StatusNotification Available. Returns, per session of the day, the row
    of its start and of its stop frame (-1 where there is none)."""
    s = day.sessions
    mine = np.flatnonzero(s["c"] < upto)
    c, tx, tag = s["c"][mine], num(s["tx"][mine]), text("TAG", num(s["tag"][mine]))
    conn, start, drift = num(s["connector"][mine]), s["start"][mine], j.fleet.drift_s[c]
    accepted = pa.repeat(pa.scalar('{"idTagInfo":{"status":"Accepted"}}'), len(c))
    rows = j.call(c, start - 20 * SEC, "Authorize", text('{"idTag":"', tag, '"}'), accepted)
    j.event(rows, 0, "authorization", id_tag=tag)
    meter = s["meter_start"][mine].astype(np.int64)
    charger_at = start + (drift * SEC).astype(np.int64)
    start_rows = j.call(c, start, "StartTransaction", text(
        '{"connectorId":', conn, ',"idTag":"', tag, '","meterStart":', num(meter),
        ',"timestamp":"', iso(charger_at), '"}'),
        text('{"transactionId":', tx, ',"idTagInfo":{"status":"Accepted"}}'))
    j.event(start_rows, 0, "transaction_started", connector_id=s["connector"][mine],
            id_tag=tag, meter_wh=meter.astype(float), transaction_key=tx,
            transaction_id_raw=tx, charger_at=charger_at)
    status(j, c, start + SEC, conn, "Charging")
    meter_values(j, s, mine)
    stop_rows = stops(j, s, mine, tag)
    start_of, stop_of = np.full(len(s["c"]), -1), np.full(len(s["c"]), -1)
    start_of[mine] = start_rows
    stop_of[mine] = stop_rows
    return start_of, stop_of


def status(j: Journal, c: np.ndarray, at: np.ndarray, conn: pa.Array, value: str) -> None:
    rows = j.call(c, at, "StatusNotification", text(
        '{"connectorId":', conn, f',"errorCode":"NoError","status":"{value}","timestamp":"',
        iso(at), '"}'), pa.repeat(pa.scalar("{}"), len(c)))
    j.event(rows, 0, "status_changed", connector_id=pa.array(conn).cast(pa.int64()),
            status=value, error_code="NoError")


def stops(j: Journal, s: dict[str, np.ndarray], mine: np.ndarray, tag: pa.Array) -> np.ndarray:
    """StopTransaction (and the Available after it) of sessions that stopped before the end;
    the stop frame's row per session of ``mine``, -1 for those still running."""
    done = s["stop"][mine] < END_NS
    rows = np.full(len(mine), -1)
    idx = mine[done]
    c, tx, stop = s["c"][idx], num(s["tx"][idx]), s["stop"][idx]
    meter = (s["meter_start"][idx] + s["energy_wh"][idx]).astype(np.int64)
    charger_at = stop + (j.fleet.drift_s[c] * SEC).astype(np.int64)
    tag = tag.filter(pa.array(done))
    rows[done] = j.call(c, stop, "StopTransaction", text(
        '{"transactionId":', tx, ',"idTag":"', tag, '","meterStop":', num(meter),
        ',"timestamp":"', iso(charger_at), '","reason":"Local"}'),
        pa.repeat(pa.scalar('{"idTagInfo":{"status":"Accepted"}}'), len(c)))
    j.event(rows[done], 0, "transaction_stopped", transaction_key=tx, transaction_id_raw=tx,
            id_tag=tag, meter_wh=meter.astype(float), reason="Local", charger_at=charger_at)
    status(j, c, stop + 2 * SEC, num(s["connector"][idx]), "Available")
    return rows


def meter_values(j: Journal, s: dict[str, np.ndarray], mine: np.ndarray) -> None:
    """MeterValues every 60 s: the energy register (Wh) and the power (W), two events each."""
    sub = {k: v[mine] for k, v in s.items()}
    sample = samples(sub)
    row = sample["row"]
    c, tx = sub["c"][row], num(sub["tx"][row])
    wh, w = sample["register"].astype(np.int64), sample["power_w"].astype(np.int64)
    charger_at = sample["at"] + (j.fleet.drift_s[c] * SEC).astype(np.int64)
    conn = num(sub["connector"][row])
    rows = j.call(c, sample["at"], "MeterValues", text(
        '{"connectorId":', conn, ',"transactionId":', tx, ',"meterValue":[{"timestamp":"',
        iso(charger_at), '","sampledValue":[{"value":"', num(wh),
        f'","context":"Sample.Periodic","measurand":"{ENERGY}","unit":"Wh"}},{{"value":"',
        num(w), f'","context":"Sample.Periodic","measurand":"{POWER}","unit":"W"}}]}}]}}'),
        pa.repeat(pa.scalar("{}"), len(c)))
    common = {"connector_id": sub["connector"][row], "transaction_key": tx,
              "transaction_id_raw": tx, "charger_at": charger_at,
              "context": "Sample.Periodic"}
    j.event(rows, 0, "meter_sample", measurand=ENERGY, value=wh.astype(float), unit="Wh",
            raw_value=num(wh), raw_unit="Wh", meter_wh=wh.astype(float),
            energy_kind="register", **common)
    j.event(rows, 1, "meter_sample", measurand=POWER, value=w.astype(float), unit="W",
            raw_value=num(w), raw_unit="W", **common)
