"""Rollouts: one firmware rollout (newest first) — its progress by wave, each wave's gate
figures against their limits, its chargers by state and, when it halted, why. Read from the
agent's state files (``dashboards.rollouts``); nothing here acts on a rollout."""

from typing import Any

import pandas as pd
import streamlit as st

from canonical.rollouts import ChargerState, Rollout
from dashboards import rollouts, widgets

BREACHED = "background-color: #ffd7d5; color: #8a1c14; font-weight: 600"

st.title("Rollouts")


@st.fragment(run_every=widgets.REFRESH_S)
def rollouts_page() -> None:
    found = rollouts.files()
    for f in found:
        if f.error is not None:
            st.error(widgets.plain(f"Cannot read rollouts/{f.name}: {f.error}"))
    by_id = {f.rollout.rollout_id: f.rollout for f in found if f.rollout is not None}
    if not by_id:
        widgets.no_data("No firmware rollout yet: `chargeline firmware rollout` plans one.")
        return
    chosen = st.selectbox("Rollout, newest first", list(by_id), key="rollout",
                          format_func=lambda i: f"{i} · {by_id[i].status} → "
                                                f"{by_id[i].to_version}")
    r = by_id[chosen]
    overview(r)
    halt(r)
    progress(r)
    gate_figures(r)
    charger_states(r)


def overview(r: Rollout) -> None:
    updated = sum(t.state == ChargerState.updated for t in r.chargers)
    c = st.columns(4)
    c[0].metric("Status", r.status.value)
    c[1].metric("Target version", widgets.plain(r.to_version))
    c[2].metric("Updated", f"{updated} of {len(r.chargers)}")
    c[3].metric("Wave", f"{r.wave + 1} of {len(r.waves)}")
    finished = rollouts.stamp(r.finished_at) if r.finished_at else "not yet"
    st.markdown(widgets.plain(f"Created {rollouts.stamp(r.created_at)} · finished "
                              f"{finished} · last written "
                              f"{rollouts.stamp(r.updated_at)}"))
    chosen = ", ".join(f"{k} {v}" for k, v in r.filters.items() if v) or "the whole fleet"
    st.caption(widgets.plain(
        f"Cohort: {chosen}; on failure {r.on_failure}; soak {r.soak_s:g} s; install timeout "
        f"{r.install_timeout_s:g} s."))


def halt(r: Rollout) -> None:
    reason = rollouts.halt_reason(r)
    if reason is None or r.halt is None:
        return
    st.error(widgets.plain(reason), icon=":material/block:")
    st.caption(widgets.plain(f"Halted at {rollouts.stamp(r.halted_at)}; first evidence of "
                             f"failure at {rollouts.stamp(r.first_failure_at)}."))
    for cp in r.halt.charge_point_ids[:10]:
        widgets.charger_link(cp, f"Charger {cp}")
    rollback = rollouts.rollback_progress(r)
    if rollback:
        st.warning(widgets.plain(rollback))


def progress(r: Rollout) -> None:
    st.subheader("Progress by wave")
    st.dataframe(rollouts.waves(r), hide_index=True)
    st.bar_chart(rollouts.wave_states(r), x="wave", y="chargers", color="state",
                 horizontal=True)


def gate_figures(r: Rollout) -> None:
    st.subheader("Gates against their limits")
    figures = rollouts.gates(r)
    if figures.empty:
        st.caption("No gate judged yet: a wave's gates are judged from its first send.")
        return
    shown = figures.style.apply(breached, axis=1).format(
        "{:g}", subset=["value", "limit", "baseline"], na_rep="-")
    st.dataframe(shown, hide_index=True)


def breached(row: pd.Series) -> list[str]:
    return [BREACHED if row["breached"] else ""] * len(row)


def charger_states(r: Rollout) -> None:
    st.subheader("Chargers by state")
    states: list[Any] = ["", *rollouts.states_present(r)]
    state = st.selectbox("State", states, key="rollout-state",
                         format_func=lambda s: s or "all states")
    widgets.linked_table(rollouts.chargers(r, state or None))


rollouts_page()
