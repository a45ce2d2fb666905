"""chargeline dashboards: one entry, one page per file.

``streamlit run dashboards/app.py -- --data-dir DIR`` (or ``CHARGELINE_DATA_DIR``); what
``chargeline dashboard`` runs. Read-only on the warehouse. When ``CHARGELINE_DASHBOARD_PASSWORD``
is set, nothing shows before the password is given. Operators sign in in the sidebar
(``dashboards.operator``) to act on chargers; everyone else only reads.
"""

from __future__ import annotations

import argparse
import hmac
import os
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboards import operator  # after the path above: run as a script, not a module

# Not "pages/": next to the entry file Streamlit would also serve those files directly (its
# old multipage mode) at /<name>, skipping this entry and so the password gate.
PAGES = Path(__file__).parent / "app_pages"


def use_data_dir_argument(argv: list[str]) -> None:
    """``--data-dir`` after streamlit's ``--`` wins over the environment."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data-dir", type=Path)
    known, _ = parser.parse_known_args(argv)
    if known.data_dir is not None:
        os.environ["CHARGELINE_DATA_DIR"] = str(known.data_dir.resolve())


def gate() -> bool:
    """True once the password (``CHARGELINE_DASHBOARD_PASSWORD``) is given, or if none is set."""
    secret = os.environ.get("CHARGELINE_DASHBOARD_PASSWORD")
    if not secret or st.session_state.get("authenticated"):
        return True
    st.title("chargeline")
    given = st.text_input("Password", type="password")
    if given and hmac.compare_digest(given.encode(), secret.encode()):
        st.session_state["authenticated"] = True
        st.rerun()
    elif given:
        st.error("Wrong password.")
    return False


def pages() -> list[st.Page]:
    return [
        st.Page(PAGES / "fleet.py", title="Fleet", default=True),
        st.Page(PAGES / "chargers.py", title="Chargers"),
        st.Page(PAGES / "sessions.py", title="Sessions"),
        st.Page(PAGES / "alerts.py", title="Alerts"),
        st.Page(PAGES / "reconciliation.py", title="Reconciliation"),
        st.Page(PAGES / "firmware.py", title="Firmware"),
        st.Page(PAGES / "rollouts.py", title="Rollouts"),
        st.Page(PAGES / "uptime.py", title="Uptime"),
    ]


use_data_dir_argument(sys.argv[1:])
st.set_page_config(page_title="chargeline", layout="wide")
# Navigation resolves the address (page and query) even while locked, so that giving the
# password lands on the page that was asked for; only an unlocked app runs it.
unlocked = gate()
page = st.navigation(pages(), position="sidebar" if unlocked else "hidden")
if unlocked:
    operator.sign_in_sidebar()
    page.run()
