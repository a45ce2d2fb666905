"""Chargers: a searchable list; one charger (``?charger=<id>``): connector status, firmware,
connectivity history, clock drift, its sessions and alerts."""

import streamlit as st

from dashboards import data, widgets


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
    detail(chosen)
else:
    listing()
