"""Alerts: by kind, charger and time; each links to its session or charger."""

import streamlit as st

from canonical.enums import AlertKind
from dashboards import data

st.title("Alerts")
kind = st.selectbox("Kind", ["", *[k.value for k in AlertKind]])
cp = st.text_input("Charger")


@st.fragment(run_every=2)
def listing() -> None:
    rows = data.alerts(kind=kind or None, cp=cp or None)
    if rows.empty:
        st.info("No alerts.")
        return
    rows.insert(0, "link", rows.apply(
        lambda r: f"/sessions?session={r['session_id']}" if r["session_id"]
        else f"/chargers?charger={r['charge_point_id']}", axis=1))
    st.dataframe(rows, hide_index=True,
                 column_config={"link": st.column_config.LinkColumn("open", display_text="open")})


listing()
