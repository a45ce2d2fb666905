"""chargeline dashboards: one entry, one page per file (``streamlit run dashboards/app.py``)."""

from __future__ import annotations

import hmac
import os
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAGES = Path(__file__).parent / "pages"


def gate() -> bool:
    """A password gate when ``CHARGELINE_DASHBOARD_PASSWORD`` is set."""
    secret = os.environ.get("CHARGELINE_DASHBOARD_PASSWORD")
    if not secret or st.session_state.get("authenticated"):
        return True
    given = st.text_input("Password", type="password")
    if given and hmac.compare_digest(given.encode(), secret.encode()):
        st.session_state["authenticated"] = True
        st.rerun()
    elif given:
        st.error("Wrong password")
    return False


st.set_page_config(page_title="chargeline", layout="wide")
if gate():
    st.navigation([
        st.Page(PAGES / "fleet.py", title="Fleet", default=True),
        st.Page(PAGES / "chargers.py", title="Chargers"),
        st.Page(PAGES / "sessions.py", title="Sessions"),
        st.Page(PAGES / "alerts.py", title="Alerts"),
        st.Page(PAGES / "reconciliation.py", title="Reconciliation"),
        st.Page(PAGES / "firmware.py", title="Firmware"),
    ]).run()
