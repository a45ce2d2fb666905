"""Alerts: by kind, charger and time; each links to its session or charger."""

import streamlit as st

from canonical.enums import AlertKind
from dashboards import data, widgets

st.title("Alerts")
left, right = st.columns(2)
kind = left.selectbox("Kind", ["", *[k.value for k in AlertKind]],
                      format_func=lambda k: k or "all kinds")
cp = right.text_input("Charger", value=st.query_params.get("charger", ""))
since, until = widgets.day_range("alerts")


@st.fragment(run_every=widgets.REFRESH_S)
def listing() -> None:
    rows = data.alerts(kind=kind or None, cp=cp or None, since=since, until=until)
    if rows.empty:
        widgets.nothing_matches(any((kind, cp, since, until)), "alerts")
        return
    st.bar_chart(data.alerts_per_hour(kind=kind or None, cp=cp or None, since=since,
                                      until=until), x="hour", y="alerts", color="kind")
    st.caption(f"{len(rows)} alerts, newest first")
    widgets.linked_table(rows)


listing()
