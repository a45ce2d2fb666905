"""Reconciliation: finance's billable energy by period, charger and driver; holds; exports."""

import streamlit as st

from dashboards import data

st.title("Reconciliation")
rows = data.finance()
if rows.empty:
    st.info("No reconciled sessions yet.")
    st.stop()
st.dataframe(rows, hide_index=True)
st.download_button("Export CSV", rows.to_csv(index=False), file_name="finance_sessions.csv")
