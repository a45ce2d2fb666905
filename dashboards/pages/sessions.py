"""Sessions: live and past, filters; one session's numbers, chart, anomalies and timeline."""

import streamlit as st

from dashboards import data

st.title("Sessions")
chosen = st.query_params.get("session")
if chosen:
    s = data.session(chosen)
    if s.empty:
        st.warning(f"No session {chosen}")
        st.stop()
    row = s.iloc[0]
    st.subheader(f"Session {chosen}")
    c = st.columns(4)
    c[0].metric("Energy", f"{(row['energy_wh'] or 0) / 1000:.3f} kWh")
    c[1].metric("Status", row["status"])
    c[2].metric("Rule", row["energy_rule"])
    c[3].metric("Charger", row["charge_point_id"])
    st.write({k: str(row[k]) for k in ("started_at", "started_at_raw", "stopped_at",
                                        "stopped_at_raw", "meter_start_wh", "meter_stop_wh",
                                        "flags", "id_tag")})
    samples = data.session_samples(chosen)
    if not samples.empty:
        st.line_chart(samples, x="at", y="value", color="measurand")
    st.subheader("Anomalies")
    st.dataframe(data.alerts(session_id=chosen), hide_index=True)
    st.subheader("Diagnostic timeline")
    timeline = data.timeline(chosen)
    st.dataframe(timeline, hide_index=True)
    st.download_button("Download timeline (CSV)", timeline.to_csv(index=False),
                       file_name=f"{chosen}.csv")
    st.stop()

status = st.selectbox("Status", ["", "active", "completed", "stuck", "orphan_stop"])
cp = st.text_input("Charger")


@st.fragment(run_every=2)
def listing() -> None:
    rows = data.sessions(cp=cp or None, status=status or None)
    if rows.empty:
        st.info("No sessions yet.")
        return
    rows.insert(0, "open", "/sessions?session=" + rows["session_id"])
    st.dataframe(rows, hide_index=True, column_config={
        "open": st.column_config.LinkColumn("open", display_text="timeline")})


listing()
