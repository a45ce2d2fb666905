"""``chargeline chargers add|list|remove``: charge point credentials."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("chargers", help="manage charge point credentials (HTTP Basic auth)")
    verbs = p.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="register a charge point (or change its password)")
    add.add_argument("charge_point_id")
    add.add_argument("--password", required=True, help="16-40 printable ASCII characters")
    rm = verbs.add_parser("remove", help="forget a charge point")
    rm.add_argument("charge_point_id")
    ls = verbs.add_parser("list", help="list registered charge points")
    up = verbs.add_parser("upstream-password",
                          help="proxy mode: the password the upstream expects from a charger "
                               "(sent as its Basic auth instead of the charger's own)")
    up.add_argument("charge_point_id")
    which = up.add_mutually_exclusive_group(required=True)
    which.add_argument("--password")
    which.add_argument("--remove", action="store_true")
    for verb in (add, rm, ls, up):
        verb.add_argument("--data-dir", type=Path, default=Path("data"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from canonical.errors import ConfigError
    from ingest.admission import charge_point_id
    from ingest.auth import CredentialStore

    store = CredentialStore.in_dir(args.data_dir)
    if args.verb == "list":
        for cp_id in store.ids():
            print(cp_id)
        return 0
    checked = charge_point_id(f"/ocpp/{args.charge_point_id}")
    if not isinstance(checked, str):
        raise ConfigError(f"invalid charge point id {args.charge_point_id!r}: {checked.reason}")
    if args.verb == "upstream-password":
        from ingest.upstream import UpstreamCredentials

        UpstreamCredentials.in_dir(args.data_dir).set(checked, None if args.remove
                                                      else args.password)
        print(f"upstream password of {checked} {'removed' if args.remove else 'set'}",
              file=sys.stderr)
        return 0
    if args.verb == "add":
        store.add(checked, args.password)
        print(f"registered {checked}", file=sys.stderr)
        return 0
    if not store.remove(checked):
        raise ConfigError(f"charge point {checked!r} is not registered")
    print(f"removed {checked}", file=sys.stderr)
    return 0
