"""Hostile payloads: normalization never raises and never drops a charger frame silently."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.normalizer import ChargerNormalizer
from canonical.enums import EventType
from canonical.raw import RawFrame
from tests.adapters.test_normalizer import frame_factory

ACTIONS = ["BootNotification", "Heartbeat", "StatusNotification", "Authorize", "StartTransaction",
           "StopTransaction", "MeterValues", "TransactionEvent", "DataTransfer",
           "FirmwareStatusNotification", "SecurityEventNotification", "NotifyReport"]
KEYS = ["connectorId", "evseId", "transactionId", "idTag", "idToken", "meterStart", "meterStop",
        "timestamp", "meterValue", "sampledValue", "value", "unit", "measurand", "status",
        "eventType", "transactionInfo", "evse", "seqNo", "chargePointVendor", "chargingStation",
        "unitOfMeasure", "multiplier", "context", "phase", "errorCode", "data", "offline"]
TIMES = st.sampled_from(["2024-05-01T10:00:00Z", "2024-05-01T10:00:00", "1970-01-01T00:00:00Z",
                         "2024-13-45T99:99:99Z", "2024-05-01T10:00:00+02", "9999-01-01T00:00:00Z"])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), TIMES,
    st.sampled_from(["-1", "0", "9223372036854775807", "kWh", "Wh", "Started", "Ended", "1e309"]))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=6),
    max_leaves=30)
payloads = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8)


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return "{}"


def _check(frames: list[RawFrame], protocol: str) -> None:
    normalizer = ChargerNormalizer("FUZZ-1")
    events = [e for f in frames for e in normalizer.normalize(f)] + normalizer.flush()
    types = {t.value for t in EventType}
    assert all(e.event_type in types for e in events)
    produced = {e.frame_id for e in events}
    inbound_calls = {f.frame_id for f in frames if f.direction == "in" and f.message_type == 2}
    assert inbound_calls <= produced
    for e in events:
        assert e.event_id.split(":")[0] == str(e.frame_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), payloads, st.booleans()), max_size=12),
       st.sampled_from(["ocpp1.6", "ocpp2.0.1"]))
def test_hostile_payloads_never_crash_or_vanish(calls: list[tuple[str, dict[str, Any], bool]],
                                                protocol: str) -> None:
    frames: list[RawFrame] = []
    for i, (action, payload, answered) in enumerate(calls):
        mid = f"m{i}"
        raw = f'[2,"{mid}","{action}",{_dump(payload)}]'
        frames.append(frame_factory(len(frames) + 1, orjson.loads(raw), protocol=protocol))
        if answered:
            answer = [3, mid, {"transactionId": payload.get("transactionId"),
                               "idTagInfo": payload.get("status")}]
            frames.append(frame_factory(len(frames) + 1, orjson.loads(_dump(answer)),
                                        direction="out", protocol=protocol))
    _check(frames, protocol)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_frames_are_quarantined(blob: bytes) -> None:
    text = blob.decode("utf-8", errors="replace")
    frame = frame_factory(1, text)
    frame = frame.replace(message_type=2, message_id="x", action="MeterValues")
    events = ChargerNormalizer("FUZZ-1").normalize(frame)
    assert events and {e.frame_id for e in events} == {1}
