"""OCPP-J RPC framing, as pure functions: read a frame's envelope, build answers.

The envelope is judged here; payloads are not (real chargers break the strict schemas, and the
adapters, which know the vendor, judge them). CALLERROR codes per protocol:

==================  ======================  =========================
problem             OCPP 1.6J               OCPP 2.0.1
==================  ======================  =========================
not JSON / UTF-8    FormationViolation      RpcFrameworkError
not a frame array   FormationViolation      RpcFrameworkError
unknown msg type    NotSupported            MessageTypeNotSupported
payload not object  FormationViolation      FormatViolation
unknown action      NotImplemented          NotImplemented
frame too large     FormationViolation      FormatViolation
==================  ======================  =========================

Where the message id cannot be read, the CALLERROR carries ``"-1"`` (OCPP 2.0.1 part 4, 4.2.3).
OCPP 2.1 uses 2.0.1's codes and adds two frame types: SEND (6, never answered) and
CALLRESULTERROR (5, a charger's complaint about our CALLRESULT); both are read, not answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from canonical import jsontext
from canonical.enums import MessageType, ParseStatus, Protocol
from canonical.errors import FrameError

_ID_PREFIX = re.compile(rb'^\s*\[\s*[234]\s*,\s*"([^"\\]{1,64})"')

_CODES: dict[str, dict[Protocol, str]] = {
    "syntax": {Protocol.v16: "FormationViolation", Protocol.v201: "RpcFrameworkError"},
    "type": {Protocol.v16: "NotSupported", Protocol.v201: "MessageTypeNotSupported"},
    "payload": {Protocol.v16: "FormationViolation", Protocol.v201: "FormatViolation"},
    "action": {Protocol.v16: "NotImplemented", Protocol.v201: "NotImplemented"},
    "internal": {Protocol.v16: "InternalError", Protocol.v201: "InternalError"},
}
for _codes in _CODES.values():  # OCPP 2.1 (part 4) keeps 2.0.1's error codes
    _codes[Protocol.v21] = _codes[Protocol.v201]
_SEND_TYPES = {Protocol.v21}  # the versions with SEND (6) and CALLRESULTERROR (5) frames


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame whose envelope is valid. ``payload`` is a dict for CALL and CALLRESULT."""

    message_type: MessageType
    message_id: str
    action: str | None
    payload: Any
    error_code: str | None = None
    error_description: str | None = None


class FrameRejected(FrameError):
    """A frame the RPC layer refuses; ``status`` is how it is journaled."""

    def __init__(self, code: str, description: str, message_id: str | None,
                 status: ParseStatus) -> None:
        super().__init__(code, description, message_id)
        self.status = status


def error_code(kind: str, protocol: Protocol) -> str:
    """The CALLERROR code for a kind of problem (``syntax``, ``type``, ...) in ``protocol``."""
    return _CODES[kind][protocol]


def sniff_message_id(raw: bytes) -> str | None:
    """The message id of a frame too broken or too large to parse, if its start shows it."""
    match = _ID_PREFIX.match(raw[:256])
    return match.group(1).decode("utf-8", "replace") if match else None


def parse(raw: str | bytes, protocol: Protocol) -> Frame:
    """Read one OCPP-J frame's envelope, or raise ``FrameRejected`` with the code to answer."""
    try:
        frame = jsontext.loads(raw)
    except jsontext.JSONDecodeError:
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
        raise FrameRejected(error_code("syntax", protocol), "frame is not valid JSON",
                            sniff_message_id(data), ParseStatus.invalid_json) from None
    return _envelope(frame, protocol)


def _envelope(frame: Any, protocol: Protocol) -> Frame:
    if not isinstance(frame, list) or len(frame) < 3 or not isinstance(frame[1], str):
        mid = frame[1] if isinstance(frame, list) and len(frame) > 1 else None
        raise FrameRejected(error_code("syntax", protocol), "frame is not an OCPP-J array",
                            mid if isinstance(mid, str) else None, ParseStatus.bad_shape)
    kind, message_id = frame[0], frame[1]
    if kind == MessageType.call and len(frame) == 4 and isinstance(frame[2], str):
        if not isinstance(frame[3], dict):
            raise FrameRejected(error_code("payload", protocol), "payload is not a JSON object",
                                message_id, ParseStatus.bad_shape)
        return Frame(MessageType.call, message_id, frame[2], frame[3])
    if kind == MessageType.call_result and len(frame) == 3:
        return Frame(MessageType.call_result, message_id, None, frame[2])
    if kind == MessageType.call_error and len(frame) in (4, 5):
        return Frame(MessageType.call_error, message_id, None, frame[4] if len(frame) == 5
                     else {}, str(frame[2]), str(frame[3]))
    if protocol in _SEND_TYPES and (sent := _send_type(kind, message_id, frame)) is not None:
        return sent
    if kind not in (2, 3, 4):
        raise FrameRejected(error_code("type", protocol), f"message type {kind!r} is unknown",
                            message_id, ParseStatus.bad_shape)
    raise FrameRejected(error_code("syntax", protocol),
                        f"message type {kind} frame has {len(frame)} elements",
                        message_id, ParseStatus.bad_shape)


def _send_type(kind: Any, message_id: str, frame: list[Any]) -> Frame | None:
    """OCPP 2.1's SEND ``[6, id, action, payload]`` and CALLRESULTERROR
    ``[5, id, code, description, details]``, or None when ``frame`` is neither."""
    if kind == MessageType.send and len(frame) == 4 and isinstance(frame[2], str):
        if not isinstance(frame[3], dict):
            raise FrameRejected(error_code("payload", Protocol.v21),
                                "payload is not a JSON object", message_id, ParseStatus.bad_shape)
        return Frame(MessageType.send, message_id, frame[2], frame[3])
    if kind == MessageType.call_result_error and len(frame) == 5:
        return Frame(MessageType.call_result_error, message_id, None, frame[4],
                     str(frame[2]), str(frame[3]))
    return None


def call_result(message_id: str, payload: dict[str, Any]) -> str:
    return orjson.dumps([MessageType.call_result, message_id, payload]).decode()


def call_error(message_id: str | None, code: str, description: str) -> str:
    return orjson.dumps(
        [MessageType.call_error, message_id or "-1", code, description[:255], {}]
    ).decode()


def call(message_id: str, action: str, payload: dict[str, Any]) -> str:
    return orjson.dumps([MessageType.call, message_id, action, payload]).decode()
