"""Every charger-initiated OCPP 2.1 action gets a schema-valid answer: each action's Request
schema gives generated requests (smallest, fullest, and hypothesis' arbitrary objects), each
answer is checked against the action's Response schema."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canonical.enums import Protocol
from ingest import csms_v21
from ingest.actions import csms_actions
from ingest.csms_common import CallContext
from ingest.transactions import TransactionRegistry
from tests.ocpp21.examples import CHARGER_CALLS, CHARGER_SENDS, SCHEMAS, examples, validator

CTX = CallContext("CP21", 1_767_225_600_000_000_000, TransactionRegistry(), 300)


def _errors(name: str, instance: Any) -> list[str]:
    return [e.message for e in validator(name).iter_errors(instance)]


def test_the_spec_lists_36_calls_and_1_send_from_the_station() -> None:
    requests = {p.name.removesuffix("Request.json") for p in SCHEMAS.glob("*Request.json")}
    assert requests >= CHARGER_CALLS and len(CHARGER_CALLS) == 36
    assert {p.stem for p in SCHEMAS.glob("*.json")} - {f"{r}Request" for r in requests} \
        - {f"{r}Response" for r in requests} == set(CHARGER_SENDS)
    assert set(csms_v21.HANDLERS) == CHARGER_CALLS
    assert csms_v21.SEND_ACTIONS == CHARGER_SENDS


def test_every_other_request_is_one_the_command_path_sends() -> None:
    requests = {p.name.removesuffix("Request.json") for p in SCHEMAS.glob("*Request.json")}
    assert csms_actions(Protocol.v21) == (requests - CHARGER_CALLS) | {"DataTransfer"}
    assert len(csms_actions(Protocol.v21)) == 55
    assert {"ChangeTransactionTariff", "SetDERControl", "RequestBatterySwap",
            "AdjustPeriodicEventStream", "NotifyWebPaymentStarted"} <= csms_actions(Protocol.v21)


@pytest.mark.parametrize("action", sorted(CHARGER_CALLS))
def test_generated_requests_get_schema_valid_answers(action: str) -> None:
    for request in examples(f"{action}Request"):
        assert not _errors(f"{action}Request", request), (action, request)
        answer = csms_v21.HANDLERS[action](CTX, request)
        assert not _errors(f"{action}Response", answer), (action, request, answer)


@settings(max_examples=60, deadline=None)
@given(action=st.sampled_from(sorted(CHARGER_CALLS)),
       payload=st.dictionaries(st.sampled_from(
           ["idToken", "vatNumber", "evseId", "certificateStatusRequests", "transactionId",
            "eventType", "reason"]), st.none() | st.integers() | st.text(max_size=30)
           | st.lists(st.integers() | st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
                      max_size=6) | st.dictionaries(st.text(max_size=8), st.text(max_size=8))))
def test_schema_breaking_requests_still_get_schema_valid_answers(
        action: str, payload: dict[str, Any]) -> None:
    """Chargers break the request schemas (the adapters judge them): the answer never does."""
    answer = csms_v21.HANDLERS[action](CTX, payload)
    assert not _errors(f"{action}Response", answer), (action, payload, answer)
