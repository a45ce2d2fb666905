"""The operator role through the real entry (AppTest): viewers see no action at all; an
operator who signs in sees them, each behind a confirmation; a wrong password changes
nothing; with no admin API running the page says so and keeps working."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chargeline.operators import OperatorStore
from tests.dashboards.test_pages import as_shown, open_page

PASSWORD = "operator-secret-1"
ACTIONS = {"Stop session", "Reset", "Unlock connector", "Trigger status"}


@pytest.fixture(scope="module")
def staffed(warehouse_factory: Callable[..., Path]) -> Path:
    """The fixture fleet, with an operator ``alice``."""
    data_dir = warehouse_factory()
    OperatorStore.in_dir(data_dir).add("alice", PASSWORD)
    return data_dir


def labels(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    boxes = {t.label: t for t in at.sidebar.text_input}
    boxes["Operator name"].input(name)
    boxes["Operator password"].input(password)
    next(b for b in at.sidebar.button if b.label == "Sign in").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    return [as_shown(e.value) for e in (*at.error, *at.warning, *at.success, *at.caption)]


@pytest.mark.parametrize(("page", "params"), [("sessions", {"session": "CP3/7"}),
                                              ("chargers", {"charger": "CP1"})])
def test_a_viewer_sees_no_action(staffed: Path, monkeypatch: pytest.MonkeyPatch, page: str,
                                 params: dict[str, str]) -> None:
    at = open_page(staffed, page, monkeypatch, **params)
    assert not labels(at) & ACTIONS
    assert "Sign in" in {b.label for b in at.sidebar.button}


def test_an_operator_sees_the_actions_of_a_running_session_and_of_a_charger(
        staffed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(open_page(staffed, "sessions", monkeypatch, session="CP3/7"), "alice",
                 PASSWORD)
    assert "Stop session" in labels(at)
    assert any("Signed in as operator alice" in as_shown(c.value) for c in at.sidebar.caption)
    at.switch_page("app_pages/chargers.py")
    at.query_params["charger"] = "CP1"
    at.run()
    assert {"Reset", "Unlock connector", "Trigger status"} <= labels(at)
    assert at.session_state["operator"] == "alice"
    completed = sign_in(open_page(staffed, "sessions", monkeypatch, session="CP1/1"), "alice",
                        PASSWORD)
    assert "Stop session" not in labels(completed), "only a running session can be stopped"


def test_a_wrong_password_or_name_says_so_and_changes_nothing(
        staffed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, password in (("alice", "not-her-password"), ("mallory", PASSWORD)):
        at = sign_in(open_page(staffed, "sessions", monkeypatch, session="CP3/7"), name,
                     password)
        assert [e.value for e in at.sidebar.error] == [
            "Sign-in failed: unknown name or wrong password."]
        assert not labels(at) & ACTIONS and "operator" not in at.session_state
        assert all(password not in t for t in texts(at))


def test_an_action_asks_first_then_says_the_admin_api_is_not_running(
        staffed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(open_page(staffed, "sessions", monkeypatch, session="CP3/7"), "alice",
                 PASSWORD)
    next(b for b in at.button if b.label == "Stop session").click().run()
    shown = texts(at)
    assert any("Asks charger CP3 to stop session CP3/7" in t for t in shown), shown
    assert "Confirm: Stop session" in labels(at) and "Cancel" in labels(at)
    next(b for b in at.button if b.label == "Cancel").click().run()
    assert "Stop session" in labels(at) and "Confirm: Stop session" not in labels(at)
    next(b for b in at.button if b.label == "Stop session").click().run()
    next(b for b in at.button if b.label == "Confirm: Stop session").click().run()
    assert not at.exception
    assert any(t.startswith("Not sent: the admin API is not available") for t in texts(at))
    status = next(m for m in at.metric if m.label == "Status")
    assert as_shown(status.value) == "active", "the page keeps working"


def test_signing_out_takes_the_actions_away(staffed: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    at = sign_in(open_page(staffed, "chargers", monkeypatch, charger="CP1"), "alice", PASSWORD)
    assert "Trigger status" in labels(at)
    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert not labels(at) & ACTIONS and "operator" not in at.session_state
