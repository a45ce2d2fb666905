"""``chargeline tokens add|remove|list|import``: the authorization list (``tokens.json``).

A running ``serve`` reads the file again when it changes: no restart needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.tokens import TokenStore


def register(sub: Any) -> None:
    p = sub.add_parser("tokens", help="manage the authorization list (id tags / id tokens)")
    verbs = p.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="add a token (or change one)")
    add.add_argument("id_token", help="1.6 idTag (<= 20 characters) or 2.0.1 idToken (<= 36)")
    add.add_argument("--status", default="Accepted",
                     help="Accepted (default), Blocked, Expired or Invalid")
    add.add_argument("--expiry", help="ISO 8601 date-time with offset, e.g. 2026-12-31T23:59Z; "
                                      "an Accepted token answers Expired after it")
    add.add_argument("--parent", help="parent id (1.6 parentIdTag, 2.0.1 groupIdToken)")
    add.add_argument("--type", default="ISO14443", help="2.0.1 idToken type (default ISO14443)")
    rm = verbs.add_parser("remove", help="remove a token")
    rm.add_argument("id_token")
    ls = verbs.add_parser("list", help="list the tokens")
    ls.add_argument("--json", action="store_true", help="the list as JSON, with its version")
    imp = verbs.add_parser("import", help="add or change the tokens of a CSV file, all or "
                                          "nothing (header: id_token,status,expiry,parent_id,"
                                          "type)")
    imp.add_argument("file", type=Path)
    push = verbs.add_parser("push", help="send the list to chargers' local lists (SendLocalList) "
                                         "through the running serve's admin API")
    push.add_argument("charge_point_ids", nargs="*", metavar="CP_ID",
                      help="chargers to push to (default: every connected charger)")
    push.add_argument("--timeout", type=float, default=30.0,
                      help="seconds to wait for each answer")
    for verb in (add, rm, ls, imp, push):
        verb.add_argument("--data-dir", type=Path, default=Path("data"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ingest.tokens import TokenStore

    verbs = {"add": _add, "remove": _remove, "list": _list, "import": _import, "push": _push}
    return verbs[args.verb](TokenStore.in_dir(args.data_dir), args)


def _add(store: TokenStore, args: argparse.Namespace) -> int:
    from ingest.tokens import parse_token

    token = parse_token(args.id_token, args.status, args.expiry, args.parent, args.type)
    store.add(token)
    print(f"{token.id_token}: {token.status.value} (list version {store.read().version})",
          file=sys.stderr)
    return 0


def _remove(store: TokenStore, args: argparse.Namespace) -> int:
    from canonical.errors import ConfigError

    if not store.remove(args.id_token):
        raise ConfigError(f"token {args.id_token[:40]!r} is not on the list")
    print(f"removed {args.id_token} (list version {store.read().version})", file=sys.stderr)
    return 0


def _list(store: TokenStore, args: argparse.Namespace) -> int:
    tokens = store.read()
    if args.json:
        sys.stdout.buffer.write(tokens.to_bytes() + b"\n")
        return 0
    print(f"list version {tokens.version}, {len(tokens.tokens)} tokens", file=sys.stderr)
    for token in sorted(tokens.tokens.values(), key=lambda t: t.key):
        entry = token.to_json()
        print("\t".join(entry[f] or "-" for f in ("id_token", "status", "type", "expiry",
                                                   "parent_id")))
    return 0


def _import(store: TokenStore, args: argparse.Namespace) -> int:
    from canonical.errors import ConfigError
    from ingest.tokens import tokens_from_csv

    try:
        with args.file.open(encoding="utf-8-sig", newline="") as f:
            tokens = tokens_from_csv(f)
    except FileNotFoundError:
        raise ConfigError(f"no such file: {str(args.file)!r}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{args.file}: not UTF-8 (byte {exc.start})") from None
    except ConfigError as exc:
        raise ConfigError(f"{args.file}: {exc}; nothing imported") from None
    count = store.put(tokens)
    print(f"imported {count} tokens (list version {store.read().version})", file=sys.stderr)
    return 0


def _push(store: TokenStore, args: argparse.Namespace) -> int:
    """One line per charger: pushed / already current / not supported / offline / failed.
    Exit 1 if any was offline or failed."""
    import getpass
    import socket

    from canonical.enums import Protocol
    from chargeline.admin_client import AdminClient, AdminUnavailable
    from chargeline.local_list import PushOutcome, PushResult, push, sender

    tokens = store.read()
    client = AdminClient.of(args.data_dir)
    live = {c["charge_point_id"]: Protocol(c["protocol"]) for c in client.chargers()}
    send = sender(client, args.timeout, f"{getpass.getuser()}@{socket.gethostname()}")
    ids = args.charge_point_ids or sorted(live)
    if not ids:
        print("no charger connected", file=sys.stderr)
    bad = 0
    for cp_id in ids:
        if cp_id not in live:
            result = PushResult(cp_id, PushOutcome.offline, "not connected")
        else:
            try:
                result = push(send, cp_id, live[cp_id], tokens)
            except AdminUnavailable as exc:
                result = PushResult(cp_id, PushOutcome.failed, str(exc))
        bad += result.outcome in (PushOutcome.offline, PushOutcome.failed)
        print(f"{cp_id}: {result.outcome.value}" + (f" ({result.detail})" if result.detail
                                                     else ""))
    return 1 if bad else 0
