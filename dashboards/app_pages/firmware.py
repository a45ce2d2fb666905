"""Firmware: versions across the fleet, update status, boot loops."""

import streamlit as st

from dashboards import data, widgets

st.title("Firmware")


@st.fragment(run_every=widgets.REFRESH_S)
def firmware() -> None:
    versions = data.firmware()
    if versions.empty:
        widgets.no_data("No charger has reported its firmware yet.")
        return
    st.subheader("Versions across the fleet")
    st.dataframe(versions, hide_index=True)
    st.bar_chart(versions, x="firmware_version", y="chargers")
    st.subheader("Update status")
    updates = data.firmware_updates()
    if updates.empty:
        st.caption("No firmware update reported.")
    else:
        widgets.linked_table(updates)
    st.subheader("Boot loops")
    loops = data.alerts(kind="boot_loop")
    if loops.empty:
        st.caption("No boot loop detected.")
    else:
        widgets.linked_table(loops)


firmware()
