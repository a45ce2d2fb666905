"""The fast path: frames that change nothing but counters, folded per charger per batch.

Two thirds of a fleet's journal are Heartbeat CALLs and our answers to the charger's CALLs.
Through the full path (``ChargerPipeline.apply``) each pays for a ``RawFrame``, an adapter call,
a ``CanonicalEvent``, three detectors, every timer and a session flush: ~25 µs for an effect
that is a few counters. Here they are picked out of the batch in columnar code, grouped into
runs per charger (in journal order; a charger's other frames split its runs), and each run is
handed to the charger's state as one summary. Their ``heartbeat`` event rows are built as one
Arrow batch, never as records.

**Eligible** (``inert``, columnar): a journal record of kind ``frame``, readable (``ok`` or
``late_result``), and either

- a Heartbeat CALL from the charger whose payload is a JSON object (any other payload is
  quarantined by the adapters), or
- our answer (CALLRESULT, CALLERROR; anything but a CALL) to a charger's CALL whose action has
  no answer handler in any protocol (not StartTransaction, Authorize, TransactionEvent: their
  answers complete a held start or a token).

**Absorbed** (``absorb``, against the charger's state, frame by frame in order, cheap): a
heartbeat only while the charger is online with no reconnect waiting for its first message,
no start held for its answer, no reboot under a running session pending, and its time is
before the watchdog's earliest deadline (``stuck_after_s`` after the charger was last heard,
the heartbeats before it included); an answer only while
the CALL it answers (by message id, in the normalizer's memory) has no answer handler; either
only while the session book's flush would just count (nothing changed, ≤ 128 sessions kept).
The first frame that fails goes the full path, then folding resumes. Under those conditions
a frame's full-path effect is exactly: the normalizer's ``calls_in`` and heartbeat count, the
health minute's counters and ``last_seen``, the session book's flush count (and its evidence
release every 256th, at that frame's time), and for a heartbeat one event row — no timer can
fire, no detector can alert, no session changes. So the warehouse tables are identical
(``tests/flows/test_fast_path.py`` compares them whole).

``FlowConfig.fast_path`` switches it (on by default; ``CHARGELINE_FAST_PATH=0`` turns it off,
for the tests and ``bench/replay.py``). Live, the fast path works on the batch the source
hands on (the same ~0.3 s coalescing as before): it adds no wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from adapters import ocpp16, ocpp21, ocpp201
from canonical.arrow import from_table, schema_of
from canonical.enums import Direction, EventType, MessageType, ParseStatus, RecordKind
from canonical.events import CanonicalEvent
from canonical.raw import RawFrame
from flows.charger import ChargerPipeline, Output
from flows.clock_drift import DriftEstimator
from flows.detectors import DETECTORS
from flows.health import HealthTracker
from flows.sessions import SessionBook

#: The detectors whose effect of a heartbeat this module knows; another one in the registry
#: turns the fast path off until it is taught here.
KNOWN_DETECTORS = (DriftEstimator, SessionBook, HealthTracker)
_ANSWERED_HERE = sorted({*ocpp16.ANSWERS, *ocpp201.ANSWERS, *ocpp21.ANSWERS})
# A JSON array whose 4th element is an object: the envelope parsed (parse_status ok), so the
# first three elements are a number and two strings.
_OBJECT_PAYLOAD = r'^\s*\[\s*2\s*,\s*"(?:[^"\\]|\\.)*"\s*,\s*"(?:[^"\\]|\\.)*"\s*,\s*\{'
_EVENTS = schema_of(CanonicalEvent)


def enabled(fast_path: bool) -> bool:
    return fast_path and DETECTORS == KNOWN_DETECTORS


def inert(table: pa.Table) -> pa.ChunkedArray:
    """Per row: eligible for the fast path (see the module docstring)."""
    readable = pc.and_(pc.equal(table["record_kind"], RecordKind.frame.value),
                       pc.is_in(table["parse_status"], pa.array(
                           [ParseStatus.ok.value, ParseStatus.late_result.value])))
    heartbeat = pc.and_(pc.and_(pc.equal(table["direction"], Direction.inbound.value),
                                pc.equal(table["message_type"], int(MessageType.call))),
                        pc.and_(pc.equal(table["action"], "Heartbeat"),
                                pc.match_substring_regex(table["raw"], _OBJECT_PAYLOAD)))
    answer = pc.and_(pc.and_(pc.equal(table["direction"], Direction.outbound.value),
                             pc.not_equal(table["message_type"], int(MessageType.call))),
                     pc.invert(pc.is_in(table["action"], pa.array(_ANSWERED_HERE))))
    return pc.fill_null(pc.and_(readable, pc.or_(heartbeat, answer)), False)


@dataclass(slots=True)
class Columns:
    """The batch's columns the fold reads, as Python lists (row → value)."""

    times: list[int]
    message_ids: list[str | None]
    inbound: list[bool]
    frame_ids: list[int]
    protocols: list[str]


@dataclass(slots=True)
class Heartbeats:
    """Absorbed heartbeats' rows in the batch and their adapters: their event rows."""

    rows: list[int] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)


def absorb(charger: ChargerPipeline, rows: list[int], cols: Columns, beats: Heartbeats,
           out: Output) -> int:
    """Fold ``rows`` (inert, this charger's, in order) into its state while each is inert
    for it; the number folded (the next one, if any, needs the full path). The health
    minutes the heartbeats close go to ``out``."""
    sessions, health, normalizer = charger.sessions, charger.health, charger.normalizer
    if not sessions.flush_counts_only():
        return 0
    wait = sessions.quiet_wait(health) if health.quiet() else None
    seen = health.last_seen  # what the watchdog sees before each heartbeat
    taken: list[int] = []
    inbound, times, message_ids, protocols = cols.inbound, cols.times, cols.message_ids, \
        cols.protocols
    absorb_inert = normalizer.absorb_inert
    for row in rows:
        heartbeat, at = inbound[row], times[row]
        if heartbeat and (wait is None or at >= seen + wait):
            break
        if not absorb_inert(heartbeat, message_ids[row], protocols[row]):
            break
        if heartbeat and at > seen:
            seen = at
        taken.append(row)
    if not taken:
        return 0
    mine = [row for row in taken if cols.inbound[row]]
    if mine:
        _count(charger, [cols.times[r] for r in mine], [cols.frame_ids[r] for r in mine], out)
        beats.rows += mine
        beats.adapters += [normalizer.adapter.name] * len(mine)
    sessions.absorb_flushes([cols.times[r] for r in taken])
    return len(taken)


def _count(charger: ChargerPipeline, times: list[int], frame_ids: list[int],
           out: Output) -> None:
    """Heartbeats at ``times`` counted into their health minutes: one past the open
    minute's end closes it first, as ``ChargerPipeline.apply`` does before a heartbeat's
    event (no timer is due: ``absorb``'s conditions)."""
    health, first = charger.health, 0
    end = health.minute_end()
    if end is None or max(times) < end:  # the common case: none past the open minute
        health.absorb_heartbeats(times, sum(1 for f in frame_ids if f))
        return
    for i, at in enumerate(times):
        if end is not None and at >= end:
            health.absorb_heartbeats(times[first:i], sum(1 for f in frame_ids[first:i] if f))
            charger.close_minutes(at, out)
            first, end = i, health.minute_end()
    health.absorb_heartbeats(times[first:], sum(1 for f in frame_ids[first:] if f))


def apply_table(table: pa.Table, charger_of: Callable[[str], ChargerPipeline],
                apply: Callable[[RawFrame], None], out: Output) -> pa.RecordBatch | None:
    """A shard's frames: inert runs folded, the rest through ``apply`` (the full path), each
    charger's frames in journal order; health rows the folded heartbeats close go to
    ``out``. Returns the absorbed heartbeats' event rows."""
    mask = inert(table)
    if not pc.any(mask).as_py():
        for frame in from_table(RawFrame, table):
            apply(frame)
        return None
    full = iter(from_table(RawFrame, table.filter(pc.invert(mask))))
    ids = table["charge_point_id"].to_pylist()
    cols = _columns(table)
    beats = Heartbeats()
    runs: dict[str, list[int]] = {}
    for row, (cp, quiet) in enumerate(zip(ids, mask.to_pylist(), strict=True)):
        if quiet:
            runs.setdefault(cp, []).append(row)
            continue
        run = runs.pop(cp, None)
        if run:
            _fold(charger_of(cp), run, table=table, cols=cols, beats=beats, apply=apply,
                  out=out)
        apply(next(full))
    for cp, run in runs.items():
        _fold(charger_of(cp), run, table=table, cols=cols, beats=beats, apply=apply, out=out)
    return _heartbeat_events(table, beats) if beats.rows else None


def _fold(charger: ChargerPipeline, run: list[int], *, table: pa.Table, cols: Columns,
          beats: Heartbeats, apply: Callable[[RawFrame], None], out: Output) -> None:
    """``absorb`` the run; a frame it stops at goes the full path, then it resumes."""
    while run:
        taken = absorb(charger, run, cols, beats, out)
        if taken < len(run):
            apply(from_table(RawFrame, table.slice(run[taken], 1))[0])
        run = run[taken + 1:]


def _columns(table: pa.Table) -> Columns:
    return Columns(times=table["received_at"].cast(pa.int64()).to_pylist(),
                   message_ids=table["message_id"].to_pylist(),
                   inbound=pc.equal(table["direction"], Direction.inbound.value).to_pylist(),
                   frame_ids=table["frame_id"].to_pylist(),
                   protocols=table["protocol"].to_pylist())


def _heartbeat_events(table: pa.Table, beats: Heartbeats) -> pa.RecordBatch:
    """The ``heartbeat`` events of the absorbed rows, as ``ChargerPipeline.apply`` would
    write them (``adapters.context.FrameContext.emit``: id ``<frame_id>:0``, the frame's
    common fields, the message id; every other field empty)."""
    rows = table.take(pa.array(beats.rows, pa.int64()))
    frame_ids = rows["frame_id"].combine_chunks()
    given = {
        "event_id": pc.binary_join_element_wise(frame_ids.cast(pa.string()), "0", ":"),
        "event_type": pa.array([EventType.heartbeat.value] * len(beats.rows), pa.string()),
        "frame_id": frame_ids,
        "charge_point_id": rows["charge_point_id"].combine_chunks(),
        "protocol": rows["protocol"].combine_chunks(),
        "adapter": pa.array(beats.adapters, pa.string()),
        "server_received_at": rows["received_at"].combine_chunks(),
        "message_id": rows["message_id"].combine_chunks(),
    }
    n = len(beats.rows)
    arrays = [given[f.name].cast(f.type) if f.name in given else _empty(f.type, n)
              for f in _EVENTS]
    return pa.RecordBatch.from_arrays(arrays, schema=_EVENTS)


def _empty(arrow_type: pa.DataType, n: int) -> pa.Array:
    """A column of ``n`` empty values: [] for a list (an empty tuple), else null."""
    if pa.types.is_list(arrow_type):
        return pa.array([[]] * n, arrow_type)
    return pa.nulls(n, arrow_type)
