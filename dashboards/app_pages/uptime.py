"""Uptime: per port, by the evidence the way 23 CFR 680.116(b) counts it, beside what the
ports said of themselves; the ports under 97 %, what took them down, the exclusions."""

import streamlit as st

from dashboards import uptime, widgets

st.title("Uptime")
st.caption("Up = online, available or in use, and delivering energy (23 CFR 680.116(b)). "
           "Down by the evidence: offline (no connection, or silent past its heartbeat "
           "pace), Faulted, Unavailable, or starts in a row refused or delivering no energy. "
           "Self-reported counts only the ports' own Faulted / Unavailable. Excluded outage "
           "(chargeline uptime exclude) is not counted. Times UTC; see docs/uptime.md.")


@st.fragment(run_every=widgets.REFRESH_S)
def page() -> None:
    months = uptime.months()
    if not months:
        widgets.no_data("No port has reported a status or a session yet.")
        return
    month = st.selectbox("Month", months, format_func=lambda m: m.strftime("%Y-%m"),
                         key="uptime_month")
    ports = uptime.monthly(month)
    figures = uptime.fleet(ports)
    left, middle, right = st.columns(3)
    left.metric("Uptime by the evidence", f"{figures['uptime_pct']} %")
    middle.metric("Self-reported uptime", f"{figures['self_reported_uptime_pct']} %")
    right.metric(f"Ports at or under {uptime.NEVI_MIN_PCT:g} %", figures["under"])
    st.subheader(f"Ports at or under {uptime.NEVI_MIN_PCT:g} %")
    under = ports[ports["uptime_pct"] <= uptime.NEVI_MIN_PCT]
    if under.empty:
        st.caption("Every port is above 97 % this month.")
    else:
        st.dataframe(under, hide_index=True)
    st.subheader("Minutes down, by cause")
    st.bar_chart(uptime.breakdown(ports), x="cause", y="minutes")
    st.subheader("Every port")
    st.dataframe(ports, hide_index=True)
    with st.expander("Per day"):
        st.dataframe(uptime.daily(month), hide_index=True)
    st.subheader("Evidence")
    st.dataframe(uptime.evidence(month), hide_index=True)
    st.subheader("Excluded downtime")
    excluded = uptime.exclusions()
    if excluded.empty:
        st.caption("No exclusion recorded (chargeline uptime exclude).")
    else:
        st.dataframe(excluded, hide_index=True)


page()
