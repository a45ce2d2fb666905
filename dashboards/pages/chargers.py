"""Chargers: searchable list; one charger's status, firmware, connectivity, drift, sessions."""

import streamlit as st

from dashboards import data

st.title("Chargers")
chargers = data.chargers()
if chargers.empty:
    st.info("No data yet: waiting for chargers.")
    st.stop()
ids = chargers["charge_point_id"].tolist()
chosen = st.query_params.get("charger")
search = st.text_input("Search", value="")
shown = chargers[chargers["charge_point_id"].str.contains(search, case=False)]
st.dataframe(shown, hide_index=True)
cp = st.selectbox("Charger", ids, index=ids.index(chosen) if chosen in ids else 0)
if cp:
    st.query_params["charger"] = cp
    health = data.charger_health(cp)
    if not health.empty:
        latest = health.iloc[0]
        c = st.columns(4)
        c[0].metric("Firmware", str(latest["firmware_version"]))
        c[1].metric("Drift", "-" if latest["drift_s"] is None else f"{latest['drift_s']:.0f} s")
        c[2].metric("Reconnects (24 h)", int(health["reconnects"].sum()))
        c[3].metric("Online minutes (24 h)", int(health["online"].sum()))
        st.line_chart(health, x="minute", y="online_s")
    st.subheader("Sessions")
    st.dataframe(data.sessions(cp=cp), hide_index=True)
    st.subheader("Alerts")
    st.dataframe(data.alerts(cp=cp), hide_index=True)
