"""The journal record: one frame or connection event exactly as the ingest saw it.

Also the interchange format (one JSON object per line), which other central systems' logs
can be converted to and which ``chargeline frames`` prints::

    {"ts": RFC3339 server time, "charge_point_id": str, "protocol": "ocpp1.6"|"ocpp2.0.1",
     "direction": "in"|"out", "frame": <the OCPP-J array, or a string if it was not valid JSON>}
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from canonical import jsontext
from canonical.arrow import UtcNs
from canonical.enums import Direction, MessageType, ParseStatus, RecordKind
from canonical.errors import ChargelineError


@dataclass(slots=True)
class RawFrame:
    """One journal record. ``frame_id`` grows by one per record across the whole journal.
    Treat it as immutable (``replace`` makes a changed copy): it is not ``frozen`` because a
    frozen ``__init__`` costs 2.5x more, paid twice per answered frame by the ingest and once
    per journal row by every replay.

    ``received_at`` is the server clock (UTC, ns) when the frame was read off the socket or,
    for ``out`` frames, when the answer was produced. ``raw`` is the text exactly as received.
    ``action`` is set on CALLs and also on the CALLRESULT/CALLERROR that answer them.
    """

    frame_id: int
    received_at: UtcNs
    charge_point_id: str
    connection_id: str
    protocol: str
    direction: str
    record_kind: str
    message_type: int | None
    message_id: str | None
    action: str | None
    raw: str
    parse_status: str

    def replace(self, **changes: Any) -> RawFrame:
        return dataclasses.replace(self, **changes)


_INTERCHANGE_KEYS = ("ts", "charge_point_id", "protocol", "direction", "frame")


class InterchangeError(ChargelineError):
    """A line of an interchange file cannot be read; names the line number and the problem."""

    def __init__(self, line_no: int, problem: str) -> None:
        super().__init__(f"line {line_no}: {problem}")
        self.line_no = line_no
        self.problem = problem


def ns_to_rfc3339(ns: int) -> str:
    """RFC3339 UTC with nanoseconds, e.g. ``2026-01-02T03:04:05.123456789Z``."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


def rfc3339_to_ns(text: str) -> int:
    """Parse an RFC3339 time (any offset, up to ns digits) into ns since the epoch, UTC."""
    head, dot, rest = text.partition(".")
    frac_digits = ""
    tail = ""
    if dot:
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac_digits, tail = rest[:i], rest[i:]
    else:
        for sign in ("Z", "z", "+", "-"):
            pos = head.find(sign, 10)
            if pos != -1:
                head, tail = head[:pos], head[pos:]
                break
    tail = "+00:00" if tail in ("Z", "z", "") else tail
    base = datetime.fromisoformat(head + tail)
    if base.tzinfo is None:
        base = base.replace(tzinfo=UTC)
    whole = int(base.timestamp())
    frac = int((frac_digits + "000000000")[:9]) if frac_digits else 0
    return whole * 1_000_000_000 + frac


def envelope_of(raw: str) -> tuple[int | None, str | None, str | None]:
    """(message type, message id, action) of a frame text, each None where it cannot be read."""
    try:
        frame = jsontext.loads(raw)
    except jsontext.JSONDecodeError:
        return None, None, None
    if not isinstance(frame, list) or not frame or frame[0] not in (2, 3, 4):
        return None, None, None
    message_id = frame[1] if len(frame) > 1 and isinstance(frame[1], str) else None
    action = frame[2] if frame[0] == MessageType.call and len(frame) > 2 else None
    return int(frame[0]), message_id, action if isinstance(action, str) else None


def to_interchange(frame: RawFrame) -> bytes:
    """One interchange line (without newline) for a ``frame`` record."""
    try:
        payload: Any = jsontext.loads(frame.raw)
    except jsontext.JSONDecodeError:
        payload = frame.raw
    return orjson.dumps({
        "ts": ns_to_rfc3339(frame.received_at),
        "charge_point_id": frame.charge_point_id,
        "protocol": frame.protocol,
        "direction": frame.direction,
        "frame": payload,
    })


def from_interchange(line: bytes | str, line_no: int, connection_id: str) -> RawFrame:
    """A journal record (frame_id 0, to be assigned by the writer) from one interchange line."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InterchangeError(line_no, f"not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise InterchangeError(line_no, "not a JSON object")
    missing = [k for k in _INTERCHANGE_KEYS if k not in obj]
    if missing:
        raise InterchangeError(line_no, f"missing keys {missing}")
    if obj["direction"] not in (Direction.inbound, Direction.outbound):
        problem = f"direction must be 'in' or 'out', got {obj['direction']!r}"
        raise InterchangeError(line_no, problem)
    try:
        ts = rfc3339_to_ns(str(obj["ts"]))
    except ValueError:
        raise InterchangeError(line_no, f"ts is not RFC3339: {obj['ts']!r}") from None
    payload = obj["frame"]
    raw = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
    mtype, mid, action = envelope_of(raw)
    return RawFrame(
        frame_id=0, received_at=ts, charge_point_id=str(obj["charge_point_id"]),
        connection_id=connection_id, protocol=str(obj["protocol"]),
        direction=str(obj["direction"]), record_kind=RecordKind.frame, message_type=mtype,
        message_id=mid, action=action, raw=raw,
        parse_status=ParseStatus.ok if mtype is not None else ParseStatus.invalid_json,
    )
