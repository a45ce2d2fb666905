"""``chargeline uptime exclude|exclusions|remove``: downtime the operator excludes from the
uptime figure (23 CFR 680.116(b)(4)), kept in ``DIR/uptime/exclusions/`` and applied by the
``int_port_downtime`` view (``docs/uptime.md``)."""

from __future__ import annotations

import argparse
import getpass
import json
import socket
from pathlib import Path
from typing import Any

from canonical.uptime import ExclusionCategory


def register(sub: Any) -> None:
    p = sub.add_parser("uptime", help="record downtime excluded from port uptime")
    verbs = p.add_subparsers(dest="verb", required=True)
    ex = verbs.add_parser("exclude", help="exclude a period of a charger's ports (or one port)")
    ex.add_argument("charge_point_id", metavar="CP_ID")
    ex.add_argument("--data-dir", required=True, type=Path)
    ex.add_argument("--connector", type=int, default=None,
                    help="the port (1.6 connectorId, 2.0.1 evseId); default: every port")
    ex.add_argument("--from", dest="start", required=True, metavar="TIME",
                    help="RFC 3339 with offset, e.g. 2026-01-01T10:00:00Z (inclusive)")
    ex.add_argument("--to", dest="end", required=True, metavar="TIME", help="exclusive")
    ex.add_argument("--category", required=True, choices=[c.value for c in ExclusionCategory])
    ex.add_argument("--note", default="", help="why (the ticket, the utility's notice)")
    ex.set_defaults(func=run_exclude)
    ls = verbs.add_parser("exclusions", help="list the recorded exclusions")
    ls.add_argument("--data-dir", required=True, type=Path)
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=run_list)
    rm = verbs.add_parser("remove", help="forget one exclusion by its id")
    rm.add_argument("exclusion_id", metavar="ID")
    rm.add_argument("--data-dir", required=True, type=Path)
    rm.set_defaults(func=run_remove)


def run_exclude(args: argparse.Namespace) -> int:
    import time

    from canonical.uptime import UptimeExclusion
    from warehouse import exclusions

    exclusion = UptimeExclusion(
        exclusion_id=exclusions.new_id(), charge_point_id=args.charge_point_id,
        connector_id=args.connector, excluded_from=parse_time(args.start, "--from"),
        excluded_until=parse_time(args.end, "--to"), category=args.category, note=args.note,
        recorded_by=f"{getpass.getuser()}@{socket.gethostname()}", recorded_at=time.time_ns())
    exclusions.add(args.data_dir, exclusion)
    print(exclusion.exclusion_id)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from canonical.raw import ns_to_rfc3339
    from warehouse import exclusions

    for e in exclusions.listed(args.data_dir):
        row = {"exclusion_id": e.exclusion_id, "charge_point_id": e.charge_point_id,
               "connector_id": e.connector_id, "from": ns_to_rfc3339(e.excluded_from),
               "to": ns_to_rfc3339(e.excluded_until), "category": e.category,
               "note": e.note, "recorded_by": e.recorded_by}
        print(json.dumps(row) if args.json else "  ".join(
            str(v if v is not None else "all") for v in row.values()))
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from warehouse import exclusions

    exclusions.remove(args.data_dir, args.exclusion_id)
    return 0


def parse_time(text: str, option: str) -> int:
    """An RFC 3339 time with its offset, as ns since the epoch (UTC); a ConfigError naming the
    option and the value otherwise (a time without an offset is refused: whose clock?)."""
    from canonical.errors import ConfigError
    from canonical.raw import rfc3339_to_ns

    if not text[10:].strip() or not (text.endswith("Z") or text[-6] in "+-"):
        raise ConfigError(f"{option} needs an RFC 3339 time with an offset "
                          f"(e.g. 2026-01-01T10:00:00Z): {text!r}")
    try:
        return rfc3339_to_ns(text)
    except (ValueError, IndexError):
        raise ConfigError(f"{option} is not an RFC 3339 time: {text!r}") from None
