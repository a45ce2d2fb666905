"""``chargeline operators add|list|remove``: who may act on chargers from the dashboards."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("operators", help="manage dashboard operators (who may act on chargers)")
    verbs = p.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="register an operator (or change their password)")
    add.add_argument("name")
    add.add_argument("--password", required=True, help="12-128 printable characters")
    rm = verbs.add_parser("remove", help="forget an operator")
    rm.add_argument("name")
    ls = verbs.add_parser("list", help="list operators")
    for verb in (add, rm, ls):
        verb.add_argument("--data-dir", type=Path, default=Path("data"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from canonical.errors import ConfigError
    from chargeline.operators import OperatorStore

    store = OperatorStore.in_dir(args.data_dir)
    if args.verb == "list":
        for name in store.names():
            print(name)
        return 0
    if args.verb == "add":
        store.add(args.name, args.password)
        print(f"registered operator {args.name}", file=sys.stderr)
        return 0
    if not store.remove(args.name):
        raise ConfigError(f"operator {args.name!r} is not registered")
    print(f"removed operator {args.name}", file=sys.stderr)
    return 0
