"""Fleet: online %, sessions in progress, power now, response time, open alerts."""

import streamlit as st

from dashboards import data

st.title("Fleet")


@st.fragment(run_every=2)
def fleet() -> None:
    now = data.fleet_now()
    if now.empty:
        st.info("No data yet: waiting for chargers.")
        return
    row = now.iloc[0]
    cols = st.columns(5)
    cols[0].metric("Online", f"{row['online_pct']:.1f} %")
    cols[1].metric("Sessions in progress", int(row["sessions_in_progress"]))
    cols[2].metric("Power now", f"{row['power_kw']:.1f} kW")
    cols[3].metric("Avg response", f"{(row['avg_response_time_ms'] or 0):.0f} ms")
    cols[4].metric("Alerts open", int(row["alerts_open"]))
    trend = data.fleet_trend()
    st.line_chart(trend, x="minute", y=["online_pct", "sessions_in_progress"])
    chargers = data.chargers()
    if not chargers.empty and "online" in chargers:
        st.subheader("Offline or degraded first")
        st.dataframe(chargers.sort_values("online"), hide_index=True)


fleet()
