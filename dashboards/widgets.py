"""Small layout pieces the pages share: the no-data notice, links to a session or charger,
date filters, text shown as written. Layout only: data comes from ``dashboards.data``.

Streamlit renders Markdown in titles, notices, metric labels and values, ``st.table`` cells,
expander and page-link labels. Text a charger chose (its id, idTag, transaction id, vendor,
firmware, timestamps as sent) or an address carried (``?charger=``, ``?session=``) goes
through ``plain`` before any of those; ``st.dataframe``, ``st.code`` and input values show
text as it is.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

NO_DATA = "No data yet: the warehouse has nothing to show here."
# Every ASCII punctuation character: CommonMark lets each be backslash-escaped, and all of
# Streamlit's extra syntax (:color[..], :material/..:, $math$, links, emphasis) starts with one.
_MARKDOWN_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
SESSIONS_PAGE = "app_pages/sessions.py"
CHARGERS_PAGE = "app_pages/chargers.py"
REFRESH_S = 2


def no_data(what: str = "") -> None:
    st.info(f"{NO_DATA} {what}".strip())


def nothing_matches(filtered: bool, what: str) -> None:
    """The empty-result notice: "no data yet" unless filters are what emptied it."""
    if filtered:
        st.info(f"No {what} match these filters.")
    else:
        no_data(f"No {what} yet.")


def session_url(session_id: str) -> str:
    return f"/sessions?session={quote(session_id, safe='')}"


def charger_url(charge_point_id: str) -> str:
    return f"/chargers?charger={quote(charge_point_id, safe='')}"


def with_links(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with an ``open`` link (its session if it has one, else its charger) and a
    ``charger`` link, first."""
    rows = rows.copy()
    if "charge_point_id" in rows:
        rows.insert(0, "charger", rows["charge_point_id"].map(charger_url))
    if "session_id" in rows:
        rows.insert(0, "open", [session_url(s) if isinstance(s, str) else None
                                for s in rows["session_id"]])
    return rows


LINK_COLUMNS: dict[str, Any] = {
    "open": st.column_config.LinkColumn("session", display_text="open session"),
    "charger": st.column_config.LinkColumn("charger link", display_text="open charger"),
}


def linked_table(rows: pd.DataFrame, **kw: Any) -> None:
    """A dataframe whose session and charger cells are one click from their detail page."""
    st.dataframe(with_links(rows), hide_index=True, column_config=LINK_COLUMNS, **kw)


def session_link(session_id: str, label: str) -> None:
    """A link to the session's page; ``label`` is shown as written (``plain``)."""
    st.page_link(SESSIONS_PAGE, label=plain(label), query_params={"session": session_id})


def charger_link(charge_point_id: str, label: str | None = None) -> None:
    """A link to the charger's page; ``label`` (default: its id) is shown as written."""
    st.page_link(CHARGERS_PAGE, label=plain(label or charge_point_id),
                 query_params={"charger": charge_point_id})


def day_range(key: str) -> tuple[date | None, date | None]:
    """Two optional UTC day inputs, side by side: (from, to), inclusive."""
    left, right = st.columns(2)
    since = left.date_input("From (UTC day)", value=None, key=f"{key}-from")
    until = right.date_input("To (UTC day)", value=None, key=f"{key}-to")
    return _day(since), _day(until)


def _day(value: Any) -> date | None:
    return value if isinstance(value, date) else None


def number(value: Any, fmt: str) -> str:
    """``value`` formatted with ``fmt``, or '-' when missing."""
    return "-" if value is None or pd.isna(value) else fmt.format(value)


def kwh(energy_wh: Any) -> str:
    return "-" if energy_wh is None or pd.isna(energy_wh) else f"{energy_wh / 1000:.3f} kWh"


def text(value: Any) -> str:
    """A cell as text: lists joined with commas, '-' for missing."""
    if isinstance(value, list | tuple) or type(value).__name__ == "ndarray":
        return ", ".join(map(str, list(value))) or "-"
    if value is None or pd.isna(value):
        return "-"
    return str(value)


def plain(value: Any) -> str:
    """``text(value)`` as Markdown that Streamlit shows exactly as written: every ASCII
    punctuation character backslash-escaped, and characters that are not printable (a line
    break, a tab, a right-to-left override) shown as their escape (``\\n``), not obeyed.
    For anything charger-chosen or from the address that goes into a Markdown element."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text(value))
    return _MARKDOWN_PUNCTUATION.sub(r"\\\g<0>", shown)
