"""Firmware: versions across the fleet, boot loops after updates."""

import streamlit as st

from dashboards import data

st.title("Firmware")
st.dataframe(data.firmware(), hide_index=True)
st.subheader("Boot loops")
st.dataframe(data.alerts(kind="boot_loop"), hide_index=True)
