"""``chargeline admin rotate-token``: a new bearer token for the admin API (the running
``serve`` takes it at its next request; the old one stops working)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("admin", help="the admin API's access token")
    verbs = p.add_subparsers(dest="verb", required=True)
    rotate = verbs.add_parser("rotate-token", help="replace <data-dir>/admin.token")
    rotate.add_argument("--data-dir", type=Path, default=Path("data"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ingest.admin_access import rotate_token, token_path

    rotate_token(args.data_dir)
    print(f"new token in {token_path(args.data_dir)}", file=sys.stderr)
    return 0
