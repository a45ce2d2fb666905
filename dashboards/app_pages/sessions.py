"""Sessions: live and past, with filters; one session (``?session=<id>``): its numbers, its
power and energy, its anomalies and its diagnostic timeline."""

from datetime import date
from functools import partial

import pandas as pd
import streamlit as st

from canonical.enums import SessionStatus
from dashboards import actions, data, live, operator, widgets

RECENT_LINKS = 15
RAW_EXPANDERS = 300
TIMELINE_REFRESH_S = 10  # a long timeline is heavier to redraw than the numbers
# Corrected times (UTC, charger clock minus its drift) beside what the charger sent.
NUMBERS = ("started_at", "started_at_raw", "stopped_at", "stopped_at_raw", "clock_offset_s",
           "meter_start_wh", "meter_stop_wh", "energy_wh", "samples_energy_wh", "sample_count",
           "max_power_w", "stop_reason", "id_tag", "transaction_id", "connector_id", "version")


def detail(session_id: str) -> None:
    """The session's numbers, refreshed every few seconds; its timeline too while it runs."""
    rows = data.session(session_id)
    if rows.empty:
        st.warning(f"No session {widgets.plain(repr(session_id))} in the warehouse.")
        st.page_link(widgets.SESSIONS_PAGE, label="All sessions")
        return
    live = rows.iloc[0]["status"] == "active"
    st.subheader(f"Session {widgets.plain(session_id)}")
    if operator.signed_in():
        st.fragment(session_actions, run_every=widgets.REFRESH_S)(session_id)
    st.fragment(numbers, run_every=widgets.REFRESH_S)(session_id)
    st.fragment(diagnostic_timeline,
                run_every=TIMELINE_REFRESH_S if live else None)(session_id)


def session_actions(session_id: str) -> None:
    """Operators only: "Stop session" while it runs; the outcome of the last one sent."""
    key = f"stop-{session_id}"
    rows = data.session(session_id)
    with st.container():  # one place whether or not the button is drawn (operator.offer)
        if not rows.empty and rows.iloc[0]["status"] == SessionStatus.active:
            s = rows.iloc[0]
            transaction_id = None if pd.isna(s["transaction_id"]) else str(s["transaction_id"])
            operator.offer("Stop session", partial(actions.stop_session, s["protocol"],
                                                   s["charge_point_id"], session_id,
                                                   transaction_id), key)
    operator.outcome(key)


def numbers(session_id: str) -> None:
    rows = data.session(session_id)
    if rows.empty:
        return
    s = rows.iloc[0]
    now = live.session_now(session_id)
    if now is not None:  # what the driver API says of it too (warehouse.live)
        active = now.status == SessionStatus.active
        n = st.columns(4)
        n[0].metric("Power now" if active else "Power", live.power(now.power_kw))
        n[1].metric("Energy so far" if active else "Energy",
                    widgets.kwh(None if now.energy_kwh is None else now.energy_kwh * 1000))
        n[2].metric("Duration", live.duration(now.duration_s))
        n[3].metric("Cost so far" if active else "Cost", live.cost(now))
    c = st.columns(4)
    c[0].metric("Status", widgets.plain(s["status"]))
    c[1].metric("Energy rule", widgets.plain(s["energy_rule"]))
    c[2].metric("Charger", widgets.plain(s["charge_point_id"]))
    c[3].metric("Flags", widgets.plain(s["flags"]))
    widgets.charger_link(s["charge_point_id"], f"Charger {s['charge_point_id']}")
    st.table({"field": list(NUMBERS), "value": [widgets.plain(s[k]) for k in NUMBERS]})
    meter_chart(session_id)
    st.subheader("Anomalies")
    anomalies = data.alerts(session_id=session_id)
    if anomalies.empty:
        st.caption("None detected.")
    else:
        st.dataframe(anomalies, hide_index=True)
    sent = data.commands(session_id=session_id)
    if not sent.empty:
        st.subheader("Commands")
        st.dataframe(sent, hide_index=True)


def meter_chart(session_id: str) -> None:
    samples = data.session_samples(session_id)
    if samples.empty:
        return
    st.subheader("Power and energy")
    left, right = st.columns(2)
    left.line_chart(samples, x="at", y="power_kw", y_label="kW")
    right.line_chart(samples, x="at", y="energy_kwh", y_label="kWh")


def diagnostic_timeline(session_id: str) -> None:
    st.subheader("Diagnostic timeline")
    rows = data.timeline(session_id)
    if rows.empty:
        st.caption("No frame recorded for this session.")
        return
    st.download_button("Download timeline (CSV)", data.csv_download(rows),
                       file_name=f"{session_id.replace('/', '_')}-timeline.csv",
                       mime="text/csv")
    st.dataframe(rows.drop(columns=["raw"]), hide_index=True)
    st.caption("Raw payloads")
    frames = rows[rows["source"] == "frame"].head(RAW_EXPANDERS)
    for _, f in frames.iterrows():
        with st.expander(widgets.plain(f"#{f['position']} {f['at']:%H:%M:%S.%f} "
                                       f"{f['direction']} {widgets.text(f['action'])} — "
                                       f"{f['summary']}")):
            st.code(widgets.text(f["raw"]), language="json", wrap_lines=True)


def listing() -> None:
    left, right = st.columns(2)
    status = left.selectbox("Status", ["", *[s.value for s in SessionStatus]],
                            format_func=lambda s: s or "all statuses")
    cp = right.text_input("Charger", value=st.query_params.get("charger", ""))
    since, until = widgets.day_range("sessions")
    rows_of(cp or None, status or None, since, until)


@st.fragment(run_every=widgets.REFRESH_S)
def rows_of(cp: str | None, status: str | None, since: date | None,
            until: date | None) -> None:
    rows = data.sessions(cp=cp, status=status, since=since, until=until)
    if rows.empty:
        widgets.nothing_matches(any((cp, status, since, until)), "sessions")
        return
    live = rows[rows["status"] == "active"]
    st.metric("Live sessions", len(live))
    st.caption("Newest sessions (one click opens the timeline)")
    for _, r in rows.head(RECENT_LINKS).iterrows():
        widgets.session_link(r["session_id"], f"{r['session_id']} · {r['status']} · "
                             f"{widgets.kwh(r['energy_wh'])} · {widgets.text(r['started_at'])}")
    st.caption(f"{len(rows)} sessions")
    widgets.linked_table(rows.drop(columns=["energy_wh"]))


st.title("Sessions")
chosen = st.query_params.get("session")
if chosen:
    st.query_params["session"] = chosen  # keeps the address shareable after a page_link
    detail(chosen)
else:
    listing()
