"""Answers to our CALLs about a transaction carry its key (adapters/answers.py), also when the
normalizer was snapshotted and restored between the CALL and the answer."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.normalizer import ChargerNormalizer
from canonical.enums import TransactionState
from tests.adapters.test_normalizer import frame_factory

V201 = "ocpp2.0.1"


@pytest.mark.parametrize(("action", "request_payload", "answer", "key", "status"), [
    ("GetTransactionStatus", {"transactionId": "tx-9"},
     {"ongoingIndicator": False, "messagesInQueue": False}, "tx-9", TransactionState.ended),
    ("GetTransactionStatus", {"transactionId": "tx-9"},
     {"ongoingIndicator": False, "messagesInQueue": True}, "tx-9",
     TransactionState.ended_messages_queued),
    ("GetTransactionStatus", {"transactionId": "tx-9"},
     {"ongoingIndicator": True, "messagesInQueue": False}, "tx-9", TransactionState.ongoing),
    ("GetTransactionStatus", {}, {"messagesInQueue": False}, None, TransactionState.unknown),
    ("RequestStopTransaction", {"transactionId": "tx-9"}, {"status": "Rejected"}, "tx-9",
     "Rejected"),
    ("RemoteStopTransaction", {"transactionId": 41}, {"status": "Accepted"}, "41", "Accepted"),
    ("TriggerMessage", {"requestedMessage": "StatusNotification"}, {"status": "Accepted"},
     None, "Accepted"),
])
@pytest.mark.parametrize("restored", [False, True])
def test_an_answer_names_the_transaction_asked_about(
        action: str, request_payload: dict[str, Any], answer: dict[str, Any], key: str | None,
        status: str, restored: bool) -> None:
    protocol = "ocpp1.6" if action == "RemoteStopTransaction" else V201
    normalizer = ChargerNormalizer("CP-1")
    normalizer.normalize(frame_factory(1, [2, "q1", action, request_payload],
                                       direction="out", protocol=protocol))
    if restored:
        normalizer = ChargerNormalizer.restore("CP-1", normalizer.snapshot())
    (event,) = normalizer.normalize(frame_factory(2, [3, "q1", answer], protocol=protocol,
                                                  at_s=0.25))
    assert (event.event_type, event.reason, event.transaction_key, event.status) == (
        "call_answered", action, key, status)
    assert event.value == pytest.approx(250.0, abs=0.01) and event.unit == "ms"


def test_a_snapshot_from_before_the_key_was_kept_still_restores() -> None:
    normalizer = ChargerNormalizer("CP-1")
    state = normalizer.snapshot()
    state["pending_out"] = {"q1": ["GetTransactionStatus", 1_714_557_600 * 10**9]}
    restored = ChargerNormalizer.restore("CP-1", state)
    (event,) = restored.normalize(frame_factory(2, [3, "q1", {"ongoingIndicator": False}],
                                                protocol=V201))
    assert (event.transaction_key, event.status) == (None, TransactionState.ended)
