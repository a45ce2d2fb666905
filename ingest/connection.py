"""One charger's connection: read frames, journal them, answer after they are durable."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from canonical import RawFrame
from canonical.enums import Direction, MessageType, ParseStatus, Protocol, RecordKind
from canonical.errors import JournalError
from ingest import csms_v16, csms_v21, csms_v201
from ingest.csms_common import CallContext, Handler
from ingest.frames import (
    Frame,
    FrameRejected,
    call,
    call_error,
    call_result,
    error_code,
    sniff_message_id,
)
from ingest.frames import parse as parse_frame
from ingest.journal.backend import Journal
from ingest.metrics import IngestMetrics
from ingest.outage import JournalOutage
from ingest.ratelimit import ChargerBudgets
from ingest.tokens import ACCEPT_ALL, TokenPolicy
from ingest.transactions import TransactionRegistry

log = logging.getLogger("chargeline.ingest")
_TRUNCATED = 4096
_EXPIRED = 64  # unanswered CALLs remembered per connection, to journal a late answer as such
HANDLERS: dict[Protocol, dict[str, Handler]] = {
    Protocol.v16: csms_v16.HANDLERS, Protocol.v201: csms_v201.HANDLERS,
    Protocol.v21: csms_v21.HANDLERS}
UNANSWERED = frozenset({MessageType.send, MessageType.call_result_error})  # OCPP 2.1


@dataclass
class Shared:
    """What all connections of one server share."""

    journal: Journal
    transactions: TransactionRegistry
    heartbeat_interval_s: int
    max_frame_bytes: int
    rate_per_s: float
    burst: int
    send_timeout_s: float = 30.0
    bytes_per_s: float = 16 * 1024
    burst_bytes: int = 2 * 1024 * 1024
    max_tracked_chargers: int = 100_000
    tokens: TokenPolicy = ACCEPT_ALL
    metrics: IngestMetrics = field(default_factory=lambda: IngestMetrics({}, lambda: True))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    budgets: ChargerBudgets = field(init=False)
    outage: JournalOutage = field(init=False)

    def __post_init__(self) -> None:
        self.budgets = ChargerBudgets(self.rate_per_s, self.burst, self.bytes_per_s,
                                      self.burst_bytes, self.max_tracked_chargers)
        self.outage = JournalOutage(self.journal)

    def next_connection_id(self) -> str:
        return f"{uuid.uuid4().hex[:8]}-{next(self._ids)}"


class ChargerConnection:
    """Serves one WebSocket for one charge point until it closes."""

    def __init__(self, shared: Shared, ws: ServerConnection, charge_point_id: str,
                 protocol: Protocol) -> None:
        self.shared = shared
        self.ws = ws
        self.charge_point_id = charge_point_id
        self.protocol = protocol
        self.connection_id = shared.next_connection_id()
        self.pending: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self.connected_at = time.time_ns()
        self.remote = ""
        self.expired: dict[str, str] = {}  # our CALLs not answered in time: id → action
        self.cut_off = ""  # why the server aborted the socket, if it did
        self.connected_frame_id: int | None = None  # of its ``connected`` record

    @property
    def commands_refused(self) -> str | None:
        """Why chargeline may not send its own commands here, or None (it may)."""
        return None

    def record(self, direction: Direction, raw: str, status: ParseStatus, *,
               kind: RecordKind = RecordKind.frame, mtype: int | None = None,
               mid: str | None = None, action: str | None = None) -> RawFrame:
        """A journal record of this connection, stamped now with the server clock."""
        # The StrEnum members are strings already (``.value`` costs a property call each);
        # the message type becomes a plain int: Arrow packs a column of IntEnums 4x slower.
        return RawFrame(0, time.time_ns(), self.charge_point_id, self.connection_id,
                        self.protocol, direction, kind, None if mtype is None else int(mtype),
                        mid, action, raw, status)

    async def serve(self) -> None:
        """Read until the peer goes; each frame is journaled before it is answered."""
        while True:
            message = await self.ws.recv(decode=False)
            await self._throttle(len(message))
            await self.on_message(message)

    async def _throttle(self, size: int) -> None:
        """Wait while this charge point is over its frames or bytes budget. The budget is the
        charger's, not the connection's: reconnecting does not refill it."""
        budget = self.shared.budgets.of(self.charge_point_id)
        wait = budget.take(time.monotonic(), size)
        if wait > 0:
            self.shared.metrics.throttled(wait)
            if not budget.throttled:
                budget.throttled = True
                b = self.shared.budgets
                note = (f'{{"rate_per_s": {b.rate_per_s}, "burst": {b.burst}, "bytes_per_s": '
                        f'{b.bytes_per_s}, "burst_bytes": {b.burst_bytes}, "frame_bytes": {size}}}')
                await self._journal_or_count([self.record(
                    Direction.none, note, ParseStatus.not_applicable,
                    kind=RecordKind.rate_limited)], "records_lost")
            await asyncio.sleep(wait)
        elif budget.throttled and budget.refilled:
            budget.throttled = False

    async def _journal_or_count(self, records: list[RawFrame], what: str) -> bool:
        """Journal ``records``; if the journal cannot, count them in the outage (``what``)."""
        try:
            await self.shared.journal.write(records)
        except JournalError as exc:
            self.shared.outage.failed(exc, self.charge_point_id, what)
            return False
        return True

    async def on_message(self, message: bytes | str) -> None:
        started = time.perf_counter()  # the answer's latency; a budget's wait is not in it
        data = message.encode() if isinstance(message, str) else message
        inbound, answer = self.judge(data)
        metrics = self.shared.metrics
        records = [inbound] if answer is None else [inbound, answer]
        is_call = inbound.message_type == MessageType.call
        if not await self._journal_or_count(
                records, "calls_refused" if is_call else "frames_refused"):
            if is_call and inbound.message_id:
                await self.send(call_error(inbound.message_id, error_code(
                    "internal", self.protocol), "central system cannot store the frame now"))
                metrics.answered(inbound, inbound.action, started)
            else:
                metrics.received(inbound)
            return
        if answer is not None:
            await self.send(answer.raw)
            metrics.answered(inbound, answer.action, started)
        else:
            metrics.received(inbound)

    async def send(self, text: str) -> None:
        """Send one frame. A peer that leaves it waiting ``send_timeout_s`` for buffer space
        (it stopped reading, or vanished) is cut off: the socket is aborted, which frees the
        connection and raises ``ConnectionClosed`` here and in every task waiting on it."""
        transport = self.ws.transport
        most_bytes = 4 * len(text) + 14  # UTF-8 and the WebSocket header, at worst
        if transport.get_write_buffer_size() + most_bytes < transport.get_write_buffer_limits()[1]:
            # Room in the buffer: ``send`` cannot wait for the peer, so no timer is needed
            # (arming and cancelling one cost a tenth of the time of a whole answer).
            await self.ws.send(text)
            return
        try:
            async with asyncio.timeout(self.shared.send_timeout_s):
                await self.ws.send(text)
        except TimeoutError:
            self.cut_off = f"peer took no data for {self.shared.send_timeout_s:g} s"
            log.warning("cutting off %s: %s", self.charge_point_id, self.cut_off)
            self.ws.transport.abort()
            await self.ws.wait_closed()
            raise self.ws.protocol.close_exc from None

    def judge(self, data: bytes) -> tuple[RawFrame, RawFrame | None]:
        """(inbound record, answer record or None) for one received frame. Pure but for time."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return self._rejected(data, data.decode("utf-8", "replace"), FrameRejected(
                error_code("syntax", self.protocol), "frame is not valid UTF-8",
                sniff_message_id(data), ParseStatus.invalid_utf8))
        if len(data) > self.shared.max_frame_bytes:
            return self._rejected(data, text[:_TRUNCATED], FrameRejected(
                error_code("payload", self.protocol),
                f"frame of {len(data)} bytes exceeds {self.shared.max_frame_bytes}",
                sniff_message_id(data), ParseStatus.too_large))
        try:
            frame = parse_frame(data, self.protocol)
        except FrameRejected as exc:
            return self._rejected(data, text, exc)
        if frame.message_type == MessageType.call:
            return self._answer_call(frame, text)
        if frame.message_type in UNANSWERED:
            return self._unanswered(frame, text), None
        return self._take_result(frame, text), None

    def _unanswered(self, frame: Frame, text: str,
                    direction: Direction = Direction.inbound) -> RawFrame:
        """OCPP 2.1 SEND (journaled with its action) or CALLRESULTERROR: no answer is due."""
        known = frame.message_type != MessageType.send or frame.action in csms_v21.SEND_ACTIONS
        return self.record(direction, text,
                           ParseStatus.ok if known else ParseStatus.unknown_action,
                           mtype=frame.message_type, mid=frame.message_id, action=frame.action)

    def _rejected(self, data: bytes, text: str,
                  exc: FrameRejected) -> tuple[RawFrame, RawFrame]:
        inbound = self.record(Direction.inbound, text, exc.status, mid=exc.message_id)
        answer = call_error(exc.message_id, exc.code, exc.description)
        return inbound, self.record(Direction.outbound, answer, ParseStatus.ok,
                                    mtype=MessageType.call_error, mid=exc.message_id or "-1")

    def _answer_call(self, frame: Frame, text: str) -> tuple[RawFrame, RawFrame]:
        action = frame.action or ""
        handler = HANDLERS[self.protocol].get(action)
        status = ParseStatus.ok if handler else ParseStatus.unknown_action
        inbound = self.record(Direction.inbound, text, status, mtype=MessageType.call,
                              mid=frame.message_id, action=action)
        if handler is None:
            answer = call_error(frame.message_id, error_code("action", self.protocol),
                                f"action {action!r} is not supported by {self.protocol.value}")
            mtype = MessageType.call_error
        else:
            answer, mtype = self._run_handler(handler, frame), MessageType.call_result
        return inbound, self.record(Direction.outbound, answer, ParseStatus.ok, mtype=mtype,
                                    mid=frame.message_id, action=action)

    def _run_handler(self, handler: Handler, frame: Frame) -> str:
        ctx = CallContext(self.charge_point_id, time.time_ns(), self.shared.transactions,
                          self.shared.heartbeat_interval_s, self.shared.tokens)
        try:
            return call_result(frame.message_id, handler(ctx, frame.payload))
        except Exception:  # a handler bug must not cost the charger its answer
            log.exception("handler for %s failed", frame.action)
            return call_result(frame.message_id, {}) if frame.action in (
                csms_v16.TRANSACTION_ACTIONS | csms_v201.TRANSACTION_ACTIONS) else call_error(
                frame.message_id, error_code("internal", self.protocol), "internal error")

    def _take_result(self, frame: Frame, text: str) -> RawFrame:
        pending = self.pending.pop(frame.message_id, None)
        if pending is not None:
            status = ParseStatus.ok
            if not pending[1].done():
                pending[1].set_result(frame)
            action: str | None = pending[0]
        else:
            action = self.expired.pop(frame.message_id, None)
            status = ParseStatus.unmatched_result if action is None else ParseStatus.late_result
        return self.record(Direction.inbound, text, status, mtype=frame.message_type,
                           mid=frame.message_id, action=action)

    async def call(self, action: str, payload: dict[str, Any], timeout_s: float = 30.0,
                   message_id: str | None = None,
                   on_sent: Callable[[], None] | None = None) -> Frame:
        """Send a CSMS-initiated CALL (journaled first) and wait for the charger's answer.
        An answer after ``timeout_s`` is journaled ``late_result``; if the socket closes
        first, ``ConnectionClosed``."""
        message_id = message_id or uuid.uuid4().hex
        text = call(message_id, action, payload)
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.pending[message_id] = (action, future)
        try:
            await self.shared.journal.write([self.record(
                Direction.outbound, text, ParseStatus.ok, mtype=MessageType.call,
                mid=message_id, action=action)])
            await self.send(text)
            self.shared.metrics.sent(action)
            if on_sent is not None:
                on_sent()
            return await asyncio.wait_for(future, timeout_s)
        finally:
            if self.pending.pop(message_id, None) is not None:  # not answered: may come late
                self.expired[message_id] = action
                while len(self.expired) > _EXPIRED:
                    del self.expired[next(iter(self.expired))]

    def fail_pending(self, exc: BaseException) -> None:
        """The socket closed: whoever waits for an answer learns it now."""
        for _, future in list(self.pending.values()):
            if not future.done():
                future.set_exception(exc)
