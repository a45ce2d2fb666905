"""Reconciliation: finance's billable energy by period, charger and driver; sessions on hold
and why; exports (the same rows as ``chargeline export``)."""

from functools import partial

import streamlit as st

from dashboards import data, widgets

st.title("Reconciliation")


@st.fragment(run_every=widgets.REFRESH_S)
def billable() -> None:
    by = st.radio("Billable energy by", list(data.FINANCE_DIMENSIONS), horizontal=True)
    rows = data.billable_by(by)
    if rows.empty:
        widgets.no_data("No finished session yet.")
        return
    c = st.columns(3)
    c[0].metric("Billable", f"{rows['billable_kwh'].sum():.3f} kWh")
    c[1].metric("On hold", f"{rows['held_kwh'].sum():.3f} kWh")
    c[2].metric("Sessions", int(rows["sessions"].sum()))
    st.dataframe(rows, hide_index=True)
    st.subheader("Sessions on hold")
    held = data.holds()
    if held.empty:
        st.caption("Nothing on hold.")
    else:
        widgets.linked_table(held)


def exports() -> None:
    days = data.finance_days()
    if days.empty or days.iloc[0].isna().any():
        return
    first, last = days.iloc[0]["first_day"], days.iloc[0]["last_day"]
    st.subheader("Export")
    chosen = st.date_input("Stopped between (UTC days)", value=(first, last))
    if not isinstance(chosen, tuple) or len(chosen) != 2:
        st.caption("Pick both ends of the range.")
        return
    left, right = st.columns(2)
    name = f"finance_{chosen[0]}_{chosen[1]}"
    # Built when clicked (a callable), not on every page draw: a month of a large fleet's
    # sessions costs about a second to export.
    left.download_button("Export CSV", partial(data.finance_export, *chosen, "csv"),
                         file_name=f"{name}.csv", mime="text/csv")
    right.download_button("Export Parquet", partial(data.finance_export, *chosen, "parquet"),
                          file_name=f"{name}.parquet", mime="application/octet-stream")


billable()
exports()
