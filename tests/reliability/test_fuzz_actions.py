"""Every action the central system answers, with wrong types and numbers no double holds, from
the RPC layer (what the charger is answered) through the adapters (what the flow sees).
(Random bytes, deep nesting, 1 MiB+ frames, unknown actions, CALLRESULTs for calls never made:
tests/ingest/test_hostile.py and test_rpc.py; random payloads in the adapters:
tests/adapters/test_fuzz.py.)"""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.normalizer import ChargerNormalizer
from canonical.enums import ParseStatus, Protocol
from ingest import csms_v16, csms_v201
from ingest.connection import ChargerConnection
from tests.adapters.test_fuzz import KEYS
from tests.ingest.test_hostile import SHARED

ACTIONS = [(Protocol.v16, a) for a in sorted(csms_v16.HANDLERS)] + [
    (Protocol.v201, a) for a in sorted(csms_v201.HANDLERS)]
TRANSACTION = {Protocol.v16: csms_v16.TRANSACTION_ACTIONS,
               Protocol.v201: csms_v201.TRANSACTION_ACTIONS}
# not JSON (a lone surrogate); numbers no double holds are JSON, read as ±inf or a big int
UNREADABLE = ['"\\ud800"']
HUGE = [*UNREADABLE, "1e400", "-1e400", "123456789" * 40, "1e-400", str(2**80),
        str(-(2**80)), str(2**64)]
WRONG = st.sampled_from(["null", "true", '"x"', '""', "[]", "{}", "[[[]]]", '{"a":{"b":[1]}}',
                         "-1", "0", "1.5", '"\\u0000"', '"2024-13-45T99:99:99Z"',
                         *HUGE])
KEYS_OF_ACTIONS = [*KEYS, "reason", "chargingStation", "connectorStatus", "idToken",
                          "triggerReason", "requestId", "generatedAt", "tbc", "eventData"]


def raw_call(action: str, fields: list[tuple[str, str]]) -> bytes:
    body = ",".join(f"{json.dumps(key)}:{literal}" for key, literal in fields)
    return f'[2,"m1",{json.dumps(action)},{{{body}}}]'.encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ACTIONS),
       st.lists(st.tuples(st.sampled_from(KEYS_OF_ACTIONS), WRONG), max_size=6))
def test_wrong_types_and_huge_numbers_in_every_action(action: tuple[Protocol, str],
                                                      fields: list[tuple[str, str]]) -> None:
    protocol, name = action
    data = raw_call(name, fields)
    inbound, answer = ChargerConnection(SHARED, None, "CP-FUZZ", protocol).judge(data)  # type: ignore[arg-type]
    assert answer is not None
    reply = orjson.loads(answer.raw)
    readable = inbound.parse_status == ParseStatus.ok
    if readable and name in TRANSACTION[protocol]:
        assert reply[0] == 3  # a transaction message is always acknowledged (adapters judge it)
    elif not readable:
        assert inbound.parse_status == ParseStatus.invalid_json
        assert any(literal in UNREADABLE for _, literal in fields)
        assert reply[:3] == [4, "m1", "FormationViolation" if protocol == Protocol.v16
                             else "RpcFrameworkError"]
    normalizer = ChargerNormalizer("CP-FUZZ")
    events = [*normalizer.normalize(inbound.replace(frame_id=1)),
              *normalizer.normalize(answer.replace(frame_id=2)), *normalizer.flush()]
    assert 1 in {e.frame_id for e in events}  # an event or a quarantine record, never nothing
    assert reply[0] in (3, 4) and reply[1] == "m1"


def test_a_start_with_a_number_no_double_holds_still_gets_its_transaction_id() -> None:
    """``1e400`` is JSON (orjson refuses it; the fallback reads it as inf): the charger gets a
    transaction id, the same one when it resends, and the adapters see an unreadable meter."""
    data = raw_call("StartTransaction", [("connectorId", "1"), ("idTag", '"T"'),
                                         ("meterStart", "1e400"),
                                         ("timestamp", '"2026-01-01T10:00:00Z"')])
    conn = ChargerConnection(SHARED, None, "CP-HUGE", Protocol.v16)  # type: ignore[arg-type]
    inbound, answer = conn.judge(data)
    assert inbound.parse_status == ParseStatus.ok and answer is not None
    reply = orjson.loads(answer.raw)
    assert reply[0] == 3 and isinstance(reply[2]["transactionId"], int)
    assert orjson.loads(conn.judge(data)[1].raw)[2] == reply[2]  # type: ignore[union-attr]
    normalizer = ChargerNormalizer("CP-HUGE")
    events = [*normalizer.normalize(inbound.replace(frame_id=1)),
              *normalizer.normalize(answer.replace(frame_id=2)), *normalizer.flush()]
    started = [e for e in events if e.event_type == "transaction_started"]
    assert len(started) == 1 and started[0].meter_wh is None
    assert started[0].transaction_key == str(reply[2]["transactionId"])
