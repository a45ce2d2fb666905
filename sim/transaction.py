"""One transaction's messages on the wire, start to stop, in 1.6J or 2.0.1, shaped by the
charger's client profiles (``sim.profiles``) and by the fault it carries, if any.

``Tx.shaped`` holds the profiles that act on this transaction (the truth row lists them): those
acting on every transaction from its start, a sample-level one when it acts. Timestamps are the
charger's clock at the moment the meter was read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sim import messages as m
from sim import v21
from sim.charger import SimCharger
from sim.messages import BEGIN, Reading
from sim.profiles import (
    DC_PHASE_L1,
    ENDED_TWICE,
    HONEST_DST,
    OFFLINE_QUEUE,
    PER_TX_METER,
    REPEAT_BEGIN,
    RETRANSMIT,
    STATION_TX_IDS,
    STOP_RETRIED,
    TX_DATA,
)
from sim.responder import EV_LEFT, StopCause

V16 = "ocpp1.6"
MS = 1_000_000
#: Profiles that shape every transaction of a charger that has them (its start, samples or
#: stop); the others act on some samples only and are recorded when they do.
EVERY_TRANSACTION = {
    V16: (DC_PHASE_L1, HONEST_DST, PER_TX_METER, TX_DATA, STOP_RETRIED),
    "ocpp2.0.1": (DC_PHASE_L1, HONEST_DST, STATION_TX_IDS, REPEAT_BEGIN, ENDED_TWICE)}
EVERY_TRANSACTION["ocpp2.1"] = EVERY_TRANSACTION["ocpp2.0.1"]


@dataclass(slots=True)
class Tx:
    """What the charger keeps about its transaction while it runs."""

    id_tag: str
    begin: Reading             # the Transaction.Begin reading
    meter_start: int           # the register at the start, as read
    true_start: int            # what a healthy register read at the start
    id: str = ""               # transactionId (1.6: the server's answer)
    offline: bool = False      # every message of it queued (a back-fill)
    seq: int = 0               # 2.0.1: seqNo of the next event
    session_base: int = 0      # ABB (Q10): where its session counter counts from
    readings: list[Reading] = field(default_factory=list)   # periodic, in order
    held: list[dict[str, Any]] = field(default_factory=list)  # Updated events queued
    hold: frozenset[int] = frozenset()   # sample indexes it queues (offline_queue_late)
    retransmit: int = -1       # sample index sent twice (retransmit_new_id)
    shaped: set[str] = field(default_factory=set)
    start_payload: dict[str, Any] = field(default_factory=dict)
    authorize: bool = True     # 1.6: Authorize before the start (a remote start may skip it)
    remote_start_id: int | None = None   # 2.0.1: the RequestStartTransaction's id

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq - 1


def begin(c: SimCharger, id_tag: str, at_ns: int) -> Tx:
    """Read the meter for a transaction starting at ``at_ns``."""
    reading = c.meter.reading()
    tx = Tx(id_tag, c.reading(reading, BEGIN, c.stamp(at_ns)), reading, c.meter.true_reading(),
            session_base=reading)
    tx.shaped.update(p for p in EVERY_TRANSACTION[c.p.protocol] if c.has(p))
    return tx


async def start(c: SimCharger, tx: Tx, stop_without_start: bool = False) -> None:
    """Send the start (1.6 StartTransaction, 2.0.1 Started); sets ``tx.id``."""
    if c.p.protocol == V16:
        if stop_without_start:
            tx.id = f"{9_000_000 + c.plan.seed % 100_000}"
            return
        if not tx.offline and tx.authorize:
            await c.call("Authorize", {"idTag": tx.id_tag})
        tx.start_payload = m.start_transaction(tx.id_tag, tx.meter_start, tx.begin.stamp)
        await replay_start(c, tx)
        return
    tx.id = tx.id or c.new_tx_id()  # a remote start told the CSMS its id already
    if stop_without_start:
        return
    await c.call("TransactionEvent", _started(tx))


def _started(tx: Tx) -> dict[str, Any]:
    remote = tx.remote_start_id is not None
    return m.transaction_event("Started", tx.id, tx.next_seq(), tx.begin.stamp, [tx.begin],
                               offline=tx.offline,
                               extra={"idToken": {"idToken": tx.id_tag, "type": "ISO14443"}},
                               trigger="RemoteStart" if remote else None,
                               remote_start_id=tx.remote_start_id)


async def replay_start(c: SimCharger, tx: Tx) -> None:
    """The start again as it was (a reboot replaying its queue: the phantom fault)."""
    if c.p.protocol == V16:
        answer = await c.call("StartTransaction", tx.start_payload)
        tx.id = str((answer or {}).get("transactionId"))
        return
    tx.seq = 0
    await c.call("TransactionEvent", _started(tx))


async def sample(c: SimCharger, tx: Tx, index: int, reading: Reading) -> None:
    """A periodic reading: 1.6 MeterValues, 2.0.1 Updated (or queued for after the Ended)."""
    tx.readings.append(reading)
    if c.p.protocol == V16:
        action, payload = "MeterValues", m.meter_values(int(tx.id), reading)
    else:
        action = "TransactionEvent"
        payload = m.transaction_event("Updated", tx.id, tx.next_seq(), reading.stamp, [reading],
                                      "Charging" if reading.power_w else "SuspendedEV")
        if index in tx.hold:
            tx.held.append(payload | {"offline": True})
            tx.shaped.add(OFFLINE_QUEUE)
            return
    await c.call(action, payload)
    if v21.speaks_21(c):
        await v21.stream(c, reading)
    if index == tx.retransmit:
        await c.call(action, payload)  # our answer was lost: the same CALL, a new id
        tx.shaped.add(RETRANSMIT)


async def stop(c: SimCharger, tx: Tx, end: Reading, meter_stop: int, at_ns: int,
               differing_wh: int = 0, cause: StopCause = EV_LEFT) -> None:
    """The stop read at ``at_ns``, with everything its profiles send around it;
    ``differing_wh``: the duplicate_stop fault, a second stop that much higher; ``cause``:
    why it ended (the car left, or a command)."""
    if c.p.protocol == V16:
        await _stop_16(c, tx, end, meter_stop, differing_wh, cause)
    else:
        await _ended(c, tx, end, meter_stop, at_ns, differing_wh, cause)


async def _stop_16(c: SimCharger, tx: Tx, end: Reading, meter_stop: int,
                   differing_wh: int, cause: StopCause) -> None:
    payload = _stop_payload(c, tx, end, meter_stop, cause.reason_16)
    await c.call("StopTransaction", payload)
    if c.has(STOP_RETRIED):  # the answer was lost: the same payload, a new message id
        await c.call("StopTransaction", payload)
    if differing_wh:
        await c.call("StopTransaction", _stop_payload(
            c, tx, _more(c, end, meter_stop + differing_wh), meter_stop + differing_wh))


def _stop_payload(c: SimCharger, tx: Tx, end: Reading, meter_stop: int,
                  reason: str = EV_LEFT.reason_16) -> dict[str, Any]:
    data = None
    if c.has(TX_DATA):
        data = [tx.begin, *tx.readings, end]
    return m.stop_transaction(int(tx.id), meter_stop, end.stamp, tx.id_tag, data, reason)


def _more(c: SimCharger, end: Reading, register_wh: int) -> Reading:
    text, unit = c.meter_text(register_wh)
    return dataclasses.replace(end, register=text, unit=unit)


async def _ended(c: SimCharger, tx: Tx, end: Reading, meter_stop: int, at_ns: int,
                 differing_wh: int, cause: StopCause) -> None:
    readings = [tx.begin, end] if c.has(REPEAT_BEGIN) else [end]
    event = m.transaction_event("Ended", tx.id, tx.next_seq(), end.stamp, readings,
                                "EVConnected", offline=tx.offline, trigger=cause.trigger_201,
                                stopped_reason=cause.stopped_201)
    await c.call("TransactionEvent", event)
    if c.has(ENDED_TWICE):  # at shutdown: the same meter values, 1 ms later, next seqNo
        again = event | {"seqNo": tx.next_seq(), "timestamp": c.stamp(at_ns + MS)}
        await c.call("TransactionEvent", again)
    if differing_wh:
        await c.call("TransactionEvent", m.transaction_event(
            "Ended", tx.id, tx.next_seq(), end.stamp, [_more(c, end, meter_stop + differing_wh)],
            "EVConnected"))
    for queued in _shuffled(c, tx.held):  # the queue, after the Ended (Q30)
        await c.call("TransactionEvent", queued)


def _shuffled(c: SimCharger, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A queue drained in its order, or (half the time) out of order."""
    out = list(events)
    if len(out) > 1 and c.rng.random() < 0.5:
        c.rng.shuffle(out)
    return out

