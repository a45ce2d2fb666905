"""Proxy mode: a charger's connection forwarded frame by frame to the upstream central system.

Every frame is queued in the journal before it is forwarded, both ways (so the journal holds
them in the order they passed), and nothing reaches the charger before it is durable: what the
upstream sends waits for its fsync, and the answer to a charger's CALL waits for that CALL's
too (the CALL itself goes upstream as soon as it is queued: its fsync overlaps the upstream's
work). The charger's frames are journaled ``in`` (the hop charger → proxy), the upstream's
``out`` (upstream → proxy); the ``connected`` record names the upstream. Frames are forwarded
as received, byte for byte, whatever chargeline makes of them (the upstream judges its own
traffic; chargeline's verdict is the journal's ``parse_status``). Nothing is answered here,
except when the journal cannot store a frame: a charger CALL is then answered
``InternalError`` (not forwarded while the journal is known down; when its write fails after
it went upstream, the upstream's answer is replaced by ``InternalError``): what the charger
hears answered is stored, as without a proxy.

Commands of chargeline's own (``--allow-commands``; refused otherwise: the upstream owns the
charger) keep OCPP-J's one outstanding CALL per direction across both central systems: ours
waits while an upstream CALL is outstanding and upstream CALLs wait while ours is, so the
charger never holds two at once and an answer can only be for the one CALL outstanding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from canonical import RawFrame
from canonical.enums import Direction, MessageType, ParseStatus, Protocol, RecordKind
from canonical.errors import JournalError
from ingest.connection import HANDLERS, UNANSWERED, ChargerConnection, Shared
from ingest.frames import Frame, FrameRejected, call_error, error_code
from ingest.frames import parse as parse_frame
from ingest.upstream import UpstreamConfig, UpstreamLost, UpstreamRefused, UpstreamUnreachable

log = logging.getLogger("chargeline.proxy")
Redial = Callable[[], Awaitable[ClientConnection]]


class ProxiedConnection(ChargerConnection):
    """One charger's socket and its upstream connection, pumped both ways."""

    def __init__(self, shared: Shared, ws: ServerConnection, charge_point_id: str,
                 protocol: Protocol, *, upstream: ClientConnection, config: UpstreamConfig,
                 redial: Redial) -> None:
        super().__init__(shared, ws, charge_point_id, protocol)
        self.upstream, self.config, self.redial = upstream, config, redial
        self.calls_in: dict[str, str] = {}  # the charger's CALLs the upstream owes: id → action
        self.stored_calls: dict[str, asyncio.Future[range]] = {}  # their journal writes
        self.calls_out: dict[str, str] = {}  # the upstream's CALLs the charger owes
        self.held: deque[bytes] = deque()  # for the upstream, while it is away (hold)
        self.upstream_up = True
        self.ours_idle, self.theirs_idle = asyncio.Event(), asyncio.Event()
        self.ours_idle.set()
        self.theirs_idle.set()
        self.forwarded = {"to_upstream": 0, "to_charger": 0}

    @property
    def commands_refused(self) -> str | None:
        if self.config.allow_commands:
            return None
        return "proxy mode: the upstream central system owns this charger (serve " \
               "--allow-commands to send chargeline's own)"

    async def serve(self) -> None:
        pump = asyncio.get_running_loop().create_task(self._pump())
        try:
            await super().serve()
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
            await self.upstream.close()

    # -- charger → upstream ---------------------------------------------------------------
    async def on_message(self, message: bytes | str) -> None:
        """Queued in the journal, then forwarded at once: the upstream's answer goes back to
        the charger only once this CALL and the answer are durable (``_from_upstream``), so
        nothing is acknowledged that is not stored, and the fsync overlaps the upstream."""
        data = message.encode() if isinstance(message, str) else message
        record, ours = self._from_charger(data)
        self.shared.metrics.received(record)
        is_call = record.message_type == MessageType.call
        what = "calls_refused" if is_call else "frames_refused"
        if ours or self.shared.outage.active:
            if not await self._journal_or_count([record], what):
                await self._refuse(record)
            return
        stored = self.shared.journal.submit([record])
        stored.add_done_callback(lambda f: self._count_if_lost(f, what))
        if is_call and record.message_id:
            self.stored_calls[record.message_id] = stored
        await self._to_upstream(data)

    def _count_if_lost(self, stored: asyncio.Future[range], what: str) -> None:
        exc = None if stored.cancelled() else stored.exception()
        if isinstance(exc, JournalError):
            self.shared.outage.failed(exc, self.charge_point_id, what)

    async def _refuse(self, record: RawFrame) -> None:
        """A charger CALL the journal could not take: InternalError, not forwarded."""
        if record.message_type == MessageType.call and record.message_id:
            self.calls_in.pop(record.message_id, None)
            await self.send(call_error(record.message_id, error_code(
                "internal", self.protocol), "central system cannot store the frame now"))
            self.shared.metrics.sent(record.action)

    def _from_charger(self, data: bytes) -> tuple[RawFrame, bool]:
        """The journal record of a charger frame; True if it answers a CALL of our own."""
        text = data.decode("utf-8", "replace")
        frame = self._envelope(data)
        if isinstance(frame, FrameRejected):
            return self.record(Direction.inbound, text, frame.status, mid=frame.message_id), False
        if frame.message_type == MessageType.call:
            action = frame.action or ""
            self.calls_in[frame.message_id] = action
            status = ParseStatus.ok if action in HANDLERS[self.protocol] \
                else ParseStatus.unknown_action
            return self.record(Direction.inbound, text, status, mtype=MessageType.call,
                               mid=frame.message_id, action=action), False
        if frame.message_type in UNANSWERED:  # 2.1's SEND and CALLRESULTERROR answer no CALL
            return self._unanswered(frame, text), False
        if frame.message_id in self.pending or frame.message_id in self.expired:
            return self._take_result(frame, text), True
        answered = self.calls_out.pop(frame.message_id, None)
        if not self.calls_out:
            self.theirs_idle.set()
        status = ParseStatus.unmatched_result if answered is None else ParseStatus.ok
        return self.record(Direction.inbound, text, status, mtype=frame.message_type,
                           mid=frame.message_id, action=answered), False

    def _envelope(self, data: bytes) -> Frame | FrameRejected:
        try:
            return parse_frame(data, self.protocol)
        except FrameRejected as exc:
            return exc

    async def _to_upstream(self, data: bytes) -> None:
        if not self.upstream_up:
            if len(self.held) >= self.config.max_held_frames:
                await self._close_charger(f"upstream away, {len(self.held)} frames held")
                return
            self.held.append(data)
            return
        try:
            await _send(self.upstream, data)
            self.forwarded["to_upstream"] += 1
        except ConnectionClosed:
            self.held.append(data)  # the pump sees the loss and decides (hold: sent later)

    # -- upstream → charger ---------------------------------------------------------------
    async def _pump(self) -> None:
        while True:
            try:
                async for message in self.upstream:
                    await self._from_upstream(message)
            except ConnectionClosed:
                pass
            if not await self._upstream_lost():
                return

    async def _from_upstream(self, message: str | bytes) -> None:
        data = message.encode() if isinstance(message, str) else message
        text = data.decode("utf-8", "replace")
        frame = self._envelope(data)
        if isinstance(frame, FrameRejected):
            record = self.record(Direction.outbound, text, frame.status, mid=frame.message_id)
        elif frame.message_type == MessageType.call:
            await self.ours_idle.wait()  # one outstanding CALL towards the charger
            self.theirs_idle.clear()
            self.calls_out[frame.message_id] = frame.action or ""
            record = self.record(Direction.outbound, text, ParseStatus.ok,
                                 mtype=MessageType.call, mid=frame.message_id,
                                 action=frame.action)
        elif frame.message_type in UNANSWERED:
            record = self._unanswered(frame, text, Direction.outbound)
        else:
            action = self.calls_in.pop(frame.message_id, None)
            record = self.record(Direction.outbound, text, ParseStatus.ok if action else
                                 ParseStatus.unmatched_result, mtype=frame.message_type,
                                 mid=frame.message_id, action=action)
        if not await self._journal_or_count([record], "frames_refused"):
            if record.message_type == MessageType.call and record.message_id:
                self.calls_out.pop(record.message_id, None)
                with contextlib.suppress(ConnectionClosed):
                    await _send(self.upstream, call_error(
                        record.message_id, error_code("internal", self.protocol),
                        "proxy cannot store the frame now").encode())
            elif record.message_id in self.stored_calls:
                self.stored_calls.pop(record.message_id, None)
                await self._refuse_answer(record.message_id)
            return
        stored = self.stored_calls.pop(record.message_id or "", None)
        if stored is not None:
            try:
                await stored
            except JournalError:  # the CALL was not stored: the charger must send it again
                await self._refuse_answer(record.message_id or "")
                return
        await self.send(text if isinstance(message, str) else data.decode("utf-8", "replace"))
        self.forwarded["to_charger"] += 1
        self.shared.metrics.sent(record.action)

    async def _refuse_answer(self, message_id: str) -> None:
        await self.send(call_error(message_id, error_code("internal", self.protocol),
                                   "central system cannot store the frame now"))

    async def _upstream_lost(self) -> bool:
        """The upstream went away. True when it is back (hold), False when the charger's
        socket is closed instead."""
        code = self.upstream.close_code
        await self._note({"event": "lost", "upstream": self.config.shown, "code": code})
        if self.config.lost == UpstreamLost.close:
            await self._close_charger("upstream connection lost")
            return False
        self.upstream_up = False
        deadline = time.monotonic() + self.config.retry_s
        pause = 0.2
        while time.monotonic() < deadline:
            try:
                self.upstream = await self.redial()
            except (UpstreamRefused, UpstreamUnreachable) as exc:
                log.info("%s: upstream still away: %s", self.charge_point_id, exc)
                await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 2.0)
                continue
            held = len(self.held)
            await self._note({"event": "restored", "upstream": self.config.shown,
                              "held": held})
            self.calls_out.clear()
            self.theirs_idle.set()
            while self.held:
                await _send(self.upstream, self.held.popleft())
                self.forwarded["to_upstream"] += 1
            self.upstream_up = True
            return True
        await self._close_charger(f"upstream away for {self.config.retry_s:g} s")
        return False

    async def _close_charger(self, why: str) -> None:
        self.cut_off = why
        log.warning("%s: closing the charger's socket: %s", self.charge_point_id, why)
        await self.ws.close(1011, why[:120])

    async def _note(self, detail: dict[str, Any]) -> None:
        record = self.record(Direction.none, orjson.dumps(detail).decode(),
                             ParseStatus.not_applicable, kind=RecordKind.upstream)
        await self._journal_or_count([record], "records_lost")

    # -- chargeline's own commands ---------------------------------------------------------
    async def call(self, action: str, payload: dict[str, Any], timeout_s: float = 30.0,
                   message_id: str | None = None,
                   on_sent: Callable[[], None] | None = None) -> Frame:
        await self.theirs_idle.wait()
        self.ours_idle.clear()
        try:
            return await super().call(action, payload, timeout_s, message_id, on_sent)
        finally:
            self.ours_idle.set()


async def _send(ws: ClientConnection, data: bytes) -> None:
    """A frame as it came: text when it is UTF-8 (OCPP-J is text), else the bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        await ws.send(data)
        return
    await ws.send(text)
