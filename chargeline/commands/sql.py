"""``chargeline sql``: SQL over the warehouse catalog (read-only), or an interactive shell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("sql", help="query the warehouse (no query: interactive shell)")
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("query", nargs="?", help="one SQL statement; omit for a shell on stdin")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import duckdb

    from canonical.errors import ConfigError
    from warehouse.shell import repl, run_query

    if args.query is None:
        return repl(args.data_dir, args.format, sys.stdin, sys.stdout)
    try:
        run_query(args.data_dir, args.query, args.format, sys.stdout)
    except duckdb.Error as exc:
        raise ConfigError(f"query failed: {exc}") from None
    return 0
