"""The charger's answers to our CALLs that are about a transaction: the request named it,
the answer says something of it. The normalizer remembers the request's transaction key with
the CALL (``ChargerState.pending_out``) and puts it on the ``call_answered`` event, with the
answer's fields as canonical values:

| our CALL (its ``transactionId`` → ``transaction_key``) | ``status`` |
|---|---|
| 1.6 RemoteStopTransaction, 2.0.1 RequestStopTransaction | the answer's (Accepted...) |
| 2.0.1 GetTransactionStatus | ``TransactionState``: ongoingIndicator, messagesInQueue |
"""

from __future__ import annotations

from typing import Any

from adapters.values import tx_id_of
from canonical.enums import TransactionState

#: Our CALLs whose payload names a transaction (``transactionId``).
ABOUT_A_TRANSACTION = frozenset({
    "GetTransactionStatus", "RemoteStopTransaction", "RequestStopTransaction"})


def requested_key(action: str, payload: Any) -> str | None:
    """The transaction key one of our CALLs is about, if it names one."""
    if action not in ABOUT_A_TRANSACTION or not isinstance(payload, dict):
        return None
    return tx_id_of(payload.get("transactionId"))[0]


def transaction_state(answer: Any) -> TransactionState:
    """What a GetTransactionStatus answer says of the transaction it was asked about."""
    if not isinstance(answer, dict) or not isinstance(answer.get("ongoingIndicator"), bool):
        return TransactionState.unknown
    if answer["ongoingIndicator"]:
        return TransactionState.ongoing
    if answer.get("messagesInQueue") is True:
        return TransactionState.ended_messages_queued
    return TransactionState.ended
