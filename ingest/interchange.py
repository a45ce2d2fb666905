"""Interchange files on their way into the journal (``chargeline import``): every line
checked as the server would check a live frame, then streamed in bounded chunks.

Pure: the caller gives the clock (``now_ns``, UTC) and the lines; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson

from canonical import RawFrame
from canonical.enums import Protocol
from canonical.raw import InterchangeError, from_interchange, rfc3339_to_ns
from ingest.admission import charge_point_id

EARLIEST_NS = rfc3339_to_ns("2000-01-01T00:00:00Z")
# The flow's clock is the newest receive time it has read: one frame stamped a year ahead
# would hold every timer a year ahead for good. A day covers any clock and time zone error.
MAX_AHEAD_NS = 86_400 * 10**9
_PROTOCOLS = frozenset(p.value for p in Protocol)


def checked_frames(lines: Iterable[bytes], connection_id: str,
                   now_ns: int) -> Iterator[RawFrame]:
    """The journal records of an interchange file's lines (blank lines skipped), each one
    checked; ``InterchangeError`` naming the line and the bad value at the first bad one.

    A record is refused if it is not interchange JSON, its ``charge_point_id`` is not an id
    the server would admit (``ingest.admission``), its ``protocol`` is not one of
    ``ocpp1.6``/``ocpp2.0.1``, or its ``ts`` is before 2000 or more than a day after
    ``now_ns``.
    """
    for line_no, line in enumerate(lines, start=1):
        if line.strip():
            frame = from_interchange(line, line_no, connection_id)
            check(frame, line, line_no, now_ns)
            yield frame


def check(frame: RawFrame, line: bytes, line_no: int, now_ns: int) -> None:
    """Raise ``InterchangeError`` unless ``frame`` (read from ``line``) may enter the journal."""
    cp_id = frame.charge_point_id
    if charge_point_id(f"/ocpp/{cp_id}") != cp_id:
        raise InterchangeError(line_no, f"charge_point_id {cp_id!r} is not an id the server "
                                        "admits (1-48 of [A-Za-z0-9._-*#@+], no '..')")
    if frame.protocol not in _PROTOCOLS:
        raise InterchangeError(line_no, f"protocol must be one of {sorted(_PROTOCOLS)}, got "
                                        f"{orjson.loads(line)['protocol']!r}")
    if frame.received_at < EARLIEST_NS:
        raise InterchangeError(line_no, f"ts {_ts_text(line)} is before 2000-01-01")
    if frame.received_at > now_ns + MAX_AHEAD_NS:
        raise InterchangeError(line_no, f"ts {_ts_text(line)} is more than a day after now")


def _ts_text(line: bytes) -> str:
    return str(orjson.loads(line)["ts"])


def chunks(frames: Iterable[RawFrame], max_rows: int = 10_000,
           max_bytes: int = 2 * 1024 * 1024) -> Iterator[list[RawFrame]]:
    """``frames`` in lists of at most ``max_rows`` records and about ``max_bytes`` of text,
    so a file of any size is held a chunk at a time."""
    chunk: list[RawFrame] = []
    size = 0
    for frame in frames:
        chunk.append(frame)
        size += len(frame.raw)
        if len(chunk) >= max_rows or size >= max_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk
