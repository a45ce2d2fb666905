"""The operator role: sign-in in the sidebar, and action buttons behind a confirmation.

Everyone else is a viewer: the pages read-only, no action button drawn at all. The role is
the operator's name in ``st.session_state`` (this browser tab's session, never the address);
it is checked against ``<data_dir>/operators.json`` (``chargeline operators``) at sign-in and
again before each command is sent. Passwords are neither kept nor logged nor shown: the
sign-in form is cleared on submit.

An action is two steps: its button says what it is; a click shows what will happen to which
charger or session, and only "Confirm" sends it (``dashboards.actions.send``, through the
admin API). The outcome stays on the page until the next action of that panel.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pandas as pd
import streamlit as st

from chargeline.operators import OperatorStore
from dashboards import actions, data, widgets

ROLE_KEY = "operator"
SIGN_IN_FAILED = "Sign-in failed: unknown name or wrong password."
RECORD_FIELDS = ("outcome", "status", "latency_ms", "reason", "action", "payload", "answer",
                 "requested_by", "command_id")


def signed_in() -> str | None:
    """The signed-in operator's name, or None for a viewer."""
    name = st.session_state.get(ROLE_KEY)
    return name if isinstance(name, str) and name else None


def sign_in_sidebar() -> None:
    """The sidebar's sign-in form, or who is signed in and a way out."""
    name = signed_in()
    if name is not None:
        st.sidebar.caption(f"Signed in as operator {widgets.plain(name)}")
        st.sidebar.button("Sign out", on_click=_sign_out)
        return
    with st.sidebar.form("operator-sign-in", clear_on_submit=True):
        st.caption("Operators sign in to act on chargers.")
        given = st.text_input("Operator name")
        password = st.text_input("Operator password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if given and password and OperatorStore.in_dir(data.data_dir()).verify(given, password):
            st.session_state[ROLE_KEY] = given
            st.rerun()
        st.sidebar.error(SIGN_IN_FAILED)


def _sign_out() -> None:
    for key in [k for k in st.session_state if k == ROLE_KEY or str(k).startswith("action-")]:
        del st.session_state[key]


def offer(label: str, build: Callable[[], actions.Command], key: str) -> None:
    """A button for one action; once clicked, what it will do and "Confirm" / "Cancel".
    ``build`` makes the command when the button is clicked (from the choices beside it)."""
    # One block whatever it holds: in a self-refreshing fragment, elements that move up a
    # place when the button goes were left drawn twice.
    block = st.container()
    pending = st.session_state.get(f"action-{key}-pending")
    if not isinstance(pending, actions.Command):
        block.button(label, key=f"action-{key}-ask", on_click=_ask, args=(key, build))
        return
    block.warning(widgets.plain(pending.what))
    block.caption(widgets.plain(f"{pending.action} {orjson.dumps(pending.payload).decode()}"))
    left, right = block.columns(2)
    left.button(f"Confirm: {label}", key=f"action-{key}-confirm", type="primary",
                on_click=_confirm, args=(key,))
    right.button("Cancel", key=f"action-{key}-cancel", on_click=_cancel, args=(key,))


def _ask(key: str, build: Callable[[], actions.Command]) -> None:
    st.session_state.pop(f"action-{key}-outcome", None)
    try:
        st.session_state[f"action-{key}-pending"] = build()
    except actions.ActionUnavailable as exc:
        st.session_state[f"action-{key}-outcome"] = actions.Outcome(False, f"Not sent: {exc}.")


def _cancel(key: str) -> None:
    st.session_state.pop(f"action-{key}-pending", None)


def _confirm(key: str) -> None:
    command = st.session_state.pop(f"action-{key}-pending", None)
    name = signed_in()
    if not isinstance(command, actions.Command) or name is None:
        return
    if not OperatorStore.in_dir(data.data_dir()).has(name):
        _sign_out()  # removed since signing in: back to viewer, nothing sent
        st.session_state[f"action-{key}-outcome"] = actions.Outcome(
            False, f"Not sent: {name} is no longer an operator (signed out).")
        return
    st.session_state[f"action-{key}-outcome"] = actions.send(command, data.data_dir(), name)


def outcome(key: str) -> None:
    """The last outcome of ``key``'s action, if any: its headline and its command record."""
    shown = st.session_state.get(f"action-{key}-outcome")
    if not isinstance(shown, actions.Outcome):
        return
    (st.success if shown.ok else st.error)(widgets.plain(shown.headline))
    if shown.record:
        record = {k: _cell(shown.record.get(k)) for k in RECORD_FIELDS}
        st.dataframe(pd.DataFrame([record]), hide_index=True)


def _cell(value: object) -> str:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return widgets.text(value)
