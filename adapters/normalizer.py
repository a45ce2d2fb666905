"""Raw journal frames of one charge point → canonical events, in journal order.

``ChargerNormalizer(charge_point_id).normalize(frame)`` is the whole contract:

- Every charger→CSMS frame and every connection record yields at least one event, or (for a
  1.6 StartTransaction) is held until the CSMS answer that carries its transactionId, then
  emitted numbered from the CALL's frame. What cannot be normalized becomes a ``quarantine``
  event naming the reason; nothing raises, nothing is dropped silently.
- CSMS→charger frames yield events only when they complete something: the answer to a held
  start or to an Authorize; our own CALLs start a response-time clock that the charger's
  answer stops (``call_answered``, ``value`` in ms).
- The adapter is chosen from the BootNotification and kept in the state, which snapshots to
  plain JSON (``snapshot``/``restore``) so a Bytewax step can resume it exactly.
- Deterministic: event ids are ``<frame_id>:<index>``; a replay gives the same events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters import ocpp16, ocpp21, ocpp201
from adapters.answers import requested_key, transaction_state
from adapters.base import Adapter
from adapters.common import Handler, compact
from adapters.context import FrameContext
from adapters.registry import Registry
from adapters.state import ChargerState
from adapters.values import to_text
from canonical import jsontext
from canonical.enums import Direction, EventType, MessageType, ParseStatus, Protocol, RecordKind
from canonical.events import CanonicalEvent
from canonical.raw import RawFrame

_CONNECTION = {RecordKind.connected: EventType.connected,
               RecordKind.disconnected: EventType.disconnected}
_READABLE = frozenset({ParseStatus.ok, ParseStatus.late_result})
_CHARGER_MESSAGES = frozenset({MessageType.call, MessageType.send})  # 2.1 SEND: no answer
_MODULES = {Protocol.v16.value: ocpp16, Protocol.v201.value: ocpp201,
            Protocol.v21.value: ocpp21}


class ChargerNormalizer:
    """One charge point's normalizer: an adapter plus the state it needs between frames."""

    def __init__(self, charge_point_id: str, registry: Registry | None = None,
                 state: ChargerState | None = None) -> None:
        self.charge_point_id = charge_point_id
        self.registry = registry or default_registry()
        self.state = state or ChargerState()
        self.adapter: Adapter = self._adapter_named(self.state.adapter)

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-able state; ``restore`` continues exactly where this left off."""
        return self.state.to_json()

    @classmethod
    def restore(cls, charge_point_id: str, snapshot: dict[str, Any] | None,
                registry: Registry | None = None) -> ChargerNormalizer:
        state = ChargerState.from_json(snapshot) if snapshot else None
        return cls(charge_point_id, registry, state)

    def normalize(self, frame: RawFrame) -> list[CanonicalEvent]:
        """The events of one frame (see the module docstring)."""
        ctx = FrameContext(frame, self.adapter, self.state, frame.message_id)
        try:
            self._dispatch(ctx)
        except Exception as exc:
            ctx.events = [e for e in ctx.events if e.frame_id != frame.frame_id]
            ctx.quarantine("adapter_error", f"{type(exc).__name__}: {exc}")
        return ctx.events

    def absorb_inert(self, heartbeat: bool, message_id: str | None, protocol: str) -> bool:
        """What ``normalize`` does to the state for a readable Heartbeat CALL whose payload is
        an object (``heartbeat``) or for our answer to a charger's CALL, when that frame makes
        no event but the heartbeat's own (``flows.fastpath`` writes that row). False, and the
        state untouched, when the frame would do more: release held starts (a CALL does), or
        complete something (an answer to a CALL with an answer handler)."""
        state = self.state
        if heartbeat:
            if state.pending_start:
                return False
            if message_id is not None:
                state.remember(state.calls_in, message_id, "Heartbeat")
            state.heartbeats_since_boot += 1
            return True
        if state.calls_in.get(message_id or "") in _MODULES.get(protocol, ocpp16).ANSWERS:
            return False
        state.calls_in.pop(message_id or "", None)
        return True

    def flush(self) -> list[CanonicalEvent]:
        """Held starts whose answer never came (end of an imported log), released."""
        held = list(self.state.pending_start.values())
        self.state.pending_start.clear()
        return [ocpp16.release_start(h) for h in held]

    def _adapter_named(self, name: str) -> Adapter:
        return self.registry.adapters.get(name) or self.registry.adapters["generic"]

    def _dispatch(self, ctx: FrameContext) -> None:
        frame = ctx.frame
        if frame.record_kind != RecordKind.frame:
            self._connection_record(ctx)
        elif frame.parse_status not in _READABLE:
            if frame.direction == Direction.inbound:
                ctx.quarantine(frame.parse_status, frame.raw[:500])
        elif frame.direction == Direction.inbound:
            self._inbound(ctx)
        else:
            self._outbound(ctx)

    def _connection_record(self, ctx: FrameContext) -> None:
        kind = RecordKind(ctx.frame.record_kind)
        if kind == RecordKind.command:
            self._command(ctx)
            return
        ctx.events.extend(self.flush())
        detail = ctx.frame.raw[:500] or None
        event_type = _CONNECTION.get(kind)
        if event_type is None:
            ctx.emit(EventType.notice, reason=kind.value, detail=detail)
            return
        info = _object(ctx.frame.raw)
        ctx.emit(event_type, status=to_text(info.get("code")), reason=to_text(info.get("reason")),
                 detail=detail)

    @staticmethod
    def _command(ctx: FrameContext) -> None:
        """A command's outcome (``canonical.commands.CommandRecord``): an event for the
        timelines, keyed to its transaction when it names one. Not a frame of the charger's
        (no message id): it says nothing about the charger being connected."""
        ctx.message_id = None
        info = _object(ctx.frame.raw)
        latency = info.get("latency_ms")
        tx = info.get("transaction_id")
        ctx.emit(EventType.command, reason=to_text(info.get("action")),
                 status=to_text(info.get("status") or info.get("outcome")),
                 transaction_key=tx if isinstance(tx, str) and tx else None,
                 value=float(latency) if isinstance(latency, int | float) else None,
                 unit="ms" if isinstance(latency, int | float) else None,
                 trigger=to_text(info.get("step")), detail=compact({
                     k: info.get(k) for k in ("command_id", "outcome", "origin", "requested_by",
                                              "reason", "session_id", "step")}))

    def _inbound(self, ctx: FrameContext) -> None:
        frame, state = ctx.frame, self.state
        if frame.message_type in _CHARGER_MESSAGES:
            ctx.events.extend(self.flush())
            payload = _payload(frame.raw, 3)
            if not isinstance(payload, dict):
                ctx.quarantine("payload_not_object", frame.raw[:500])
                return
            if frame.message_id is not None and frame.message_type == MessageType.call:
                state.remember(state.calls_in, frame.message_id, frame.action or "")
            self._call(ctx, frame.action or "", payload)
            return
        self._charger_answer(ctx)

    def _call(self, ctx: FrameContext, action: str, payload: dict[str, Any]) -> None:
        if action == "BootNotification":
            self._boot(ctx, payload)
            return
        if action == "Heartbeat":
            self.state.heartbeats_since_boot += 1
        module = _MODULES.get(ctx.frame.protocol, ocpp16)
        handler: Handler | None = module.CALLS.get(action)
        if handler is None:
            ctx.emit(EventType.notice, reason=action, status=to_text(payload.get("status")),
                     detail=compact(payload))
            return
        handler(ctx, payload)

    def _boot(self, ctx: FrameContext, payload: dict[str, Any]) -> None:
        module = _MODULES.get(ctx.frame.protocol, ocpp16)
        info = module.boot_info(payload)
        adapter = self.registry.match(info["vendor"], info["model"], info["firmware_version"])
        state = self.state
        state.adapter, state.heartbeats_since_boot = adapter.name, 0
        state.vendor, state.model = info["vendor"], info["model"]
        state.serial, state.firmware_version = info["serial"], info["firmware_version"]
        self.adapter = ctx.adapter = adapter
        reason = to_text(payload.get("reason"))
        ctx.emit(EventType.booted, reason=reason, detail=adapter.name, **info)

    def _outbound(self, ctx: FrameContext) -> None:
        frame, state = ctx.frame, self.state
        if frame.message_type == MessageType.call:
            if frame.message_id is not None:
                ours = frame.action or ""
                state.remember(state.pending_out, frame.message_id, [
                    ours, frame.received_at, requested_key(ours, _payload(frame.raw, 3))])
            return
        action = state.calls_in.pop(frame.message_id or "", None)
        module = _MODULES.get(frame.protocol, ocpp16)
        answer = module.ANSWERS.get(action or "")
        if answer is None:
            return
        payload = _payload(frame.raw, 2)
        error = None if frame.message_type == MessageType.call_result else "CallError"
        answer(ctx, payload if error is None else {}, error)

    def _charger_answer(self, ctx: FrameContext) -> None:
        """The charger answering one of our CALLs: its response time, in ms."""
        frame = ctx.frame
        sent = self.state.pending_out.pop(frame.message_id or "", None)
        payload = _payload(frame.raw, 2)
        status = to_text(payload.get("status")) if isinstance(payload, dict) else None
        if frame.message_type == MessageType.call_error:
            status = to_text(payload) or "CallError"
        if sent is None:
            ctx.emit(EventType.call_answered, status=status, detail="no_matching_call")
            return
        latency_ms = (frame.received_at - int(sent[1])) / 1e6
        action, key = str(sent[0]), sent[2] if len(sent) > 2 else None  # older snapshots: 2
        if action == "GetTransactionStatus" and frame.message_type == MessageType.call_result:
            status = transaction_state(payload).value
        ctx.emit(EventType.call_answered, reason=action, status=status, value=latency_ms,
                 unit="ms", transaction_key=key if isinstance(key, str) else None)


def _payload(raw: str, index: int) -> Any:
    """Element ``index`` of the frame's JSON array (payload: 3 for a CALL, 2 for answers)."""
    try:
        message = jsontext.loads(raw)
    except jsontext.JSONDecodeError:
        return None
    return message[index] if isinstance(message, list) and len(message) > index else None


def _object(raw: str) -> dict[str, Any]:
    try:
        value = jsontext.loads(raw) if raw else {}
    except jsontext.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


_DEFAULT: list[Registry] = []


def default_registry() -> Registry:
    """The built-in registry (vendor classes plus ``adapters/vendors.toml``), built once."""
    if not _DEFAULT:
        _DEFAULT.append(Registry.default())
    return _DEFAULT[0]


def normalize_batch(frames: Iterable[RawFrame], registry: Registry | None = None,
                    normalizers: dict[str, ChargerNormalizer] | None = None,
                    ) -> list[CanonicalEvent]:
    """Events of many chargers' frames in journal order (one normalizer per charger)."""
    table = normalizers if normalizers is not None else {}
    out: list[CanonicalEvent] = []
    for frame in frames:
        normalizer = table.get(frame.charge_point_id)
        if normalizer is None:
            normalizer = table[frame.charge_point_id] = ChargerNormalizer(
                frame.charge_point_id, registry)
        out.extend(normalizer.normalize(frame))
    return out


__all__ = ["ChargerNormalizer", "default_registry", "normalize_batch"]
