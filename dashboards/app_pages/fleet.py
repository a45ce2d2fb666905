"""Fleet: % online, sessions in progress, power and energy now, response time, open alerts;
trends; chargers offline or degraded first."""

import streamlit as st

from dashboards import data, widgets

st.title("Fleet")


@st.fragment(run_every=widgets.REFRESH_S)
def fleet() -> None:
    summary = data.fleet_summary()
    if summary.empty or not summary.iloc[0]["chargers"]:
        widgets.no_data("No charger has reported yet.")
        return
    now = summary.iloc[0]
    cols = st.columns(6)
    cols[0].metric("Fleet online", f"{now['online_pct']:.1f} %",
                   help=f"{now['chargers_online']} of {now['chargers']} chargers")
    cols[1].metric("Sessions in progress", int(now["sessions_in_progress"]))
    cols[2].metric("Power now", f"{now['power_kw']:.1f} kW")
    cols[3].metric("Energy, last 24 h", f"{now['energy_24h_kwh']:.1f} kWh")
    cols[4].metric("Avg response", widgets.number(now["avg_response_time_ms"], "{:.0f} ms"))
    cols[5].metric("Alerts open", int(now["alerts_open"] or 0))
    trends()
    st.subheader("Chargers, offline and degraded first")
    widgets.linked_table(data.chargers())


def trends() -> None:
    trend = data.fleet_trend()
    if trend.empty:
        return
    left, right = st.columns(2)
    left.caption("Online % and sessions in progress")
    left.line_chart(trend, x="minute", y=["online_pct", "sessions_in_progress"])
    right.caption("Power (kW) and average response time (ms)")
    right.line_chart(trend, x="minute", y=["power_kw", "avg_response_time_ms"])


fleet()
