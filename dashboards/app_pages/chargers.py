"""Chargers: a searchable list; one charger (``?charger=<id>``): connector status, firmware,
connectivity history, clock drift, its sessions and alerts."""

from functools import partial

import pandas as pd
import streamlit as st

from dashboards import actions, data, operator, widgets


@st.fragment(run_every=widgets.REFRESH_S)
def detail(cp: str) -> None:
    status = data.chargers(cp)
    status = status[status["charge_point_id"] == cp]
    if status.empty:
        st.warning(f"No charger {widgets.plain(repr(cp))} in the warehouse.")
        return
    s = status.iloc[0]
    st.subheader(f"Charger {widgets.plain(cp)}")
    c = st.columns(5)
    c[0].metric("State", widgets.plain(s["state"]))
    c[1].metric("Firmware", widgets.plain(s["firmware_version"]))
    c[2].metric("Model", widgets.plain(f"{widgets.text(s['vendor'])} {widgets.text(s['model'])}"))
    c[3].metric("Clock drift", widgets.number(s["drift_s"], "{:.1f} s"))
    c[4].metric("Last seen", widgets.plain(s["last_seen_at"]))
    st.subheader("Connectors")
    conns = data.connectors(cp)
    if conns.empty:
        st.caption("No status reported.")
    else:
        st.dataframe(conns, hide_index=True)
    connectivity(cp)
    st.subheader("Sessions")
    widgets.linked_table(data.sessions(cp=cp))
    st.subheader("Alerts")
    widgets.linked_table(data.alerts(cp=cp))
    st.subheader("Commands")
    sent = data.commands(cp=cp)
    if sent.empty:
        st.caption("No command sent to this charger.")
    else:
        st.dataframe(sent, hide_index=True)


def charger_actions(cp: str) -> None:
    """Operators only: reset, unlock a connector, ask for its status; each outcome."""
    protocol = data.charger_protocol(cp)
    kinds = actions.RESET_KINDS.get(protocol or "")  # type: ignore[call-overload]
    if protocol is None or kinds is None:
        st.caption(widgets.plain(f"No action: protocol of charger {cp} unknown."))
        return
    st.subheader("Operator actions")
    reset, unlock, trigger = st.columns(3)
    with reset:
        kind = st.selectbox("Reset kind", kinds, key=f"reset-kind-{cp}")
        operator.offer("Reset", partial(actions.reset, protocol, cp, kind), f"reset-{cp}")
        operator.outcome(f"reset-{cp}")
    with unlock:
        where = st.selectbox("Connector", connector_choices(cp), key=f"unlock-at-{cp}",
                             format_func=lambda c: f"connector {c[1]}" if c[0] is None
                             else f"EVSE {c[0]} connector {c[1]}")
        operator.offer("Unlock connector", partial(actions.unlock, protocol, cp, where[1],
                                                   where[0]), f"unlock-{cp}")
        operator.outcome(f"unlock-{cp}")
    with trigger:
        operator.offer("Trigger status", partial(actions.trigger_status, protocol, cp),
                       f"trigger-{cp}")
        operator.outcome(f"trigger-{cp}")


def connector_choices(cp: str) -> list[tuple[int | None, int]]:
    """(EVSE, connector) of each connector the charger reported, connector 1 if none."""
    conns = data.connectors(cp)
    known = [(None if pd.isna(evse) else int(evse), int(c))
             for evse, c in zip(conns.get("evse_id", []), conns.get("connector_id", []),
                                strict=True) if c > 0]
    return known or [(None, 1)]


def connectivity(cp: str) -> None:
    st.subheader("Connectivity")
    health = data.charger_health(cp)
    if not health.empty:
        c = st.columns(2)
        c[0].metric("Reconnects (24 h)", int(health["reconnects"].sum()))
        c[1].metric("Offline minutes (24 h)", int((~health["online"]).sum()))
        left, right = st.columns(2)
        left.caption("Online seconds per minute")
        left.line_chart(health, x="minute", y="online_s")
        right.caption("Clock drift estimate (s)")
        right.line_chart(health, x="minute", y="drift_s")
    left, right = st.columns(2)
    left.caption("Offline spans")
    left.dataframe(data.offline_spans(cp), hide_index=True)
    right.caption("Connections")
    right.dataframe(data.connections(cp), hide_index=True)


@st.fragment(run_every=widgets.REFRESH_S)
def listing() -> None:
    search = st.text_input("Search chargers", key="charger-search")
    rows = data.chargers(search)
    if rows.empty:
        widgets.no_data("No charger matches." if search else "No charger has reported yet.")
        return
    for cp in rows["charge_point_id"].head(20):
        widgets.charger_link(cp)
    widgets.linked_table(rows)


st.title("Chargers")
chosen = st.query_params.get("charger")
if chosen:
    st.query_params["charger"] = chosen  # keeps the address shareable after a page_link
    if operator.signed_in():
        st.fragment(charger_actions)(chosen)
    detail(chosen)
else:
    listing()
