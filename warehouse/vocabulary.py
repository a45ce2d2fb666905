"""The warehouse's vocabulary tables, generated from the canonical enums (never typed twice).

``session_flags(flag, holds_billing)``, ``alert_kinds(kind, severity)``,
``downtime_causes(cause, precedence)`` and ``exclusion_categories(category, regulation_text)``
are views over
literal rows built here, so SQL joins them instead of matching kind or flag names as text:
a new flag or kind is one enum member, and whether it holds billing is said once, in
``canonical.enums.HOLDS_BILLING``.
"""

from __future__ import annotations

from canonical.enums import HOLDS_BILLING, AlertKind, SessionFlag
from canonical.uptime import CAUSE_PRECEDENCE, EXCLUSION_TEXT
from flows.alerts import SEVERITY


def _values(rows: list[tuple[str, str]], columns: str) -> str:
    body = ",\n    ".join(f"({a}, {b})" for a, b in rows)
    return f"select * from (values\n    {body}\n) as t({columns})"


def vocabulary_sql() -> list[tuple[str, str]]:
    """(view name, SQL) for each vocabulary table."""
    flags = [(f"'{f.value}'", "true" if f in HOLDS_BILLING else "false") for f in SessionFlag]
    kinds = [(f"'{k.value}'", f"'{SEVERITY[k].value}'") for k in AlertKind]
    causes = [(f"'{c.value}'", str(rank)) for c, rank in CAUSE_PRECEDENCE.items()]
    excluded = [(f"'{c.value}'", f"'{text}'") for c, text in EXCLUSION_TEXT.items()]
    return [("session_flags", _values(flags, "flag, holds_billing")),
            ("alert_kinds", _values(kinds, "kind, severity")),
            ("downtime_causes", _values(causes, "cause, precedence")),
            ("exclusion_categories", _values(excluded, "category, regulation_text"))]
