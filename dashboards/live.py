"""The session page's "now" figures, from the same read model the driver API serves
(``warehouse.live``): a driver app and this page show one state. Cached like every loader
(``data.TTL_S``)."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import streamlit as st

from canonical.live import LiveSession
from dashboards import data
from warehouse.live import live_session

log = logging.getLogger(__name__)


def session_now(session_id: str) -> LiveSession | None:
    return _session_now(str(data.data_dir()), session_id)


@st.cache_data(ttl=data.TTL_S, show_spinner=False)
def _session_now(path: str, session_id: str) -> LiveSession | None:
    try:
        con = data.connection(path).cursor()
        try:
            return live_session(con, Path(path), session_id)
        finally:
            con.close()
    except (duckdb.Error, OSError) as exc:
        log.warning("dashboard: session now not readable: %s", exc)
        return None


def power(kw: float | None) -> str:
    return "-" if kw is None else f"{kw:.1f} kW"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{s:02d}"


def cost(s: LiveSession) -> str:
    """Incl. VAT in its currency, "(provisional)" unless the session completed; why not,
    when it cannot be priced."""
    c = s.cost
    if c is None:
        return "-"
    if c.cost_incl_vat is None:
        return f"not priced ({c.missing})" if c.missing else "-"
    return f"{c.cost_incl_vat:.2f} {c.currency}" + (" (provisional)" if s.cost_provisional
                                                      else "")
