"""The operator actions' payloads, per protocol, checked against the ``ocpp`` library's own
schemas (as the command desk checks them before sending); what the page says of each outcome."""

from __future__ import annotations

from typing import Any

import pytest

from canonical.enums import Protocol
from dashboards import actions
from dashboards.actions import ActionUnavailable, Command, outcome_of
from ingest.actions import check

V16, V201 = Protocol.v16.value, Protocol.v201.value


@pytest.mark.parametrize(("command", "action", "payload"), [
    (actions.stop_session(V16, "CP1", "CP1:7", "7"), "RemoteStopTransaction",
     {"transactionId": 7}),
    (actions.stop_session(V201, "CP2", "CP2:ab-1", "ab-1"), "RequestStopTransaction",
     {"transactionId": "ab-1"}),
    (actions.reset(V16, "CP1", "Soft"), "Reset", {"type": "Soft"}),
    (actions.reset(V16, "CP1", "Hard"), "Reset", {"type": "Hard"}),
    (actions.reset(V201, "CP2", "OnIdle"), "Reset", {"type": "OnIdle"}),
    (actions.reset(V201, "CP2", "Immediate"), "Reset", {"type": "Immediate"}),
    (actions.unlock(V16, "CP1", 2), "UnlockConnector", {"connectorId": 2}),
    (actions.unlock(V201, "CP2", 1, 3), "UnlockConnector", {"evseId": 3, "connectorId": 1}),
    (actions.unlock(V201, "CP2", 1), "UnlockConnector", {"evseId": 1, "connectorId": 1}),
    (actions.trigger_status(V16, "CP1"), "TriggerMessage",
     {"requestedMessage": "StatusNotification"}),
    (actions.trigger_status(V201, "CP2"), "TriggerMessage",
     {"requestedMessage": "StatusNotification"}),
])
def test_each_action_is_what_the_chargers_protocol_expects(command: Command, action: str,
                                                           payload: dict[str, Any]) -> None:
    assert (command.action, command.payload) == (action, payload)
    check(Protocol(V16 if command.charge_point_id == "CP1" else V201), command.action,
          command.payload)  # raises if the schema refuses it
    assert command.charge_point_id in command.what


def test_a_stop_names_its_session_and_transaction() -> None:
    stop = actions.stop_session(V16, "CP1", "CP1:7", "7")
    assert (stop.session_id, stop.transaction_id) == ("CP1:7", "7")
    assert "CP1:7" in stop.what and "stop" in stop.what


@pytest.mark.parametrize(("build", "message"), [
    (lambda: actions.stop_session(V16, "CP1", "CP1:x", "x"), "'x' is not an integer"),
    (lambda: actions.stop_session(V16, "CP1", "CP1:?", None), "no transaction id"),
    (lambda: actions.reset(V16, "CP1", "Immediate"), "'Immediate' is not one of"),
    (lambda: actions.reset("ocpp2.2", "CP1", "Soft"), "unknown protocol 'ocpp2.2'"),
    (lambda: actions.reset("ocpp2.1", "CP1", "Soft"), "'Soft' is not one of"),  # 2.0.1's
    (lambda: actions.unlock(V16, "CP1", 0), "connector 0 cannot be unlocked"),
])
def test_what_cannot_be_built_says_why(build: Any, message: str) -> None:
    with pytest.raises(ActionUnavailable, match=message):
        build()


def record(**fields: Any) -> dict[str, Any]:
    return {"outcome": "answered", "status": "Accepted", "latency_ms": 41.7, "reason": "",
            **fields}


@pytest.mark.parametrize(("fields", "ok", "headline"), [
    ({}, True, "Done: the charger answered Accepted in 42 ms."),
    ({"status": "Unlocked"}, True, "Done: the charger answered Unlocked in 42 ms."),
    ({"status": "Rejected"}, False, "Refused: the charger answered Rejected in 42 ms."),
    ({"outcome": "call_error", "status": "NotImplemented", "latency_ms": None,
      "reason": "NotImplemented: no handler"}, False,
     "Refused: the charger answered an error (NotImplemented: no handler)."),
    ({"outcome": "timeout", "status": None, "reason": "no answer in 30 s"}, False,
     "No answer: no answer in 30 s."),
    ({"outcome": "offline", "status": None, "reason": "not connected"}, False,
     "Not sent: the charger is offline (not connected)."),
    ({"outcome": "invalid", "status": None, "reason": "bad"}, False,
     "Not sent: chargeline refused the command (bad)."),
])
def test_the_page_says_what_became_of_a_command(fields: dict[str, Any], ok: bool,
                                                headline: str) -> None:
    shown = outcome_of(record(**fields))
    assert (shown.ok, shown.headline) == (ok, headline)


def test_no_admin_api_is_a_clear_outcome_not_an_exception(tmp_path: Any) -> None:
    shown = actions.send(actions.trigger_status(V16, "CP1"), tmp_path, "alice")
    assert not shown.ok and not shown.record
    assert shown.headline.startswith("Not sent: the admin API is not available (no admin API "
                                     "found in")
