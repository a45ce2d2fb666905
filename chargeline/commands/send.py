"""``chargeline send``: one CSMS-initiated command to a connected charger, through the admin
API of the ``serve`` running on the data dir. Prints the charger's answer as JSON.

Exit 0 on a CALLRESULT; 1 on a CALLERROR, a timeout or an offline charger; 2 when the command
was refused before sending (unknown action, payload against the action's schema) or the
admin API cannot be used. The reason is one line on stderr."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("send", help="send a command (a CSMS-initiated call) to a charger")
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("charge_point_id")
    p.add_argument("action", help="e.g. Reset, RemoteStopTransaction, TriggerMessage")
    p.add_argument("payload", nargs="?", default="{}", help="the payload, as JSON")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")
    p.add_argument("--upload", action="store_true",
                   help="GetDiagnostics/GetLog: fill the upload location with a one-time URL "
                        "of this serve (the file lands in <data-dir>/uploads/<id>/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from canonical.commands import CommandOrigin, CommandOutcome
    from canonical.errors import ConfigError
    from chargeline.admin_client import AdminClient

    try:
        payload = orjson.loads(args.payload)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ConfigError("payload must be a JSON object")
    client = AdminClient.of(args.data_dir)
    if args.upload:
        url = client.upload_slot(args.charge_point_id)
        if args.action == "GetLog":
            payload.setdefault("log", {})["remoteLocation"] = url
        else:
            payload["location"] = url
    record = client.send(args.charge_point_id, args.action, payload, args.timeout,
                         origin=CommandOrigin.cli,
                         requested_by=f"{getpass.getuser()}@{socket.gethostname()}")
    outcome = CommandOutcome(record["outcome"])
    if record.get("answer") is not None:
        print(orjson.dumps(record["answer"]).decode())
    if outcome == CommandOutcome.answered:
        return 0
    print(f"chargeline send: {outcome.value}: {record['reason']}", file=sys.stderr)
    return 2 if outcome == CommandOutcome.invalid else 1
