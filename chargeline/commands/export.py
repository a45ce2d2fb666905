"""``chargeline export finance|uptime|ocpi-cdrs|ocpi-sessions|ocpi-locations|ocpi-tariffs``:
billable sessions as CSV or Parquet, port uptime, OCPI 2.2.1 objects as a JSON array
(docs/ocpi.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

_OCPI = {"ocpi-cdrs": "CDRs of billable, priced sessions stopped within --from..--to (UTC)",
         "ocpi-sessions": "Sessions of the live sessions, cost so far",
         "ocpi-locations": "Locations (sites) with their EVSEs' status",
         "ocpi-tariffs": "Tariffs, one per tariff version"}


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="export warehouse data (finance sessions, port uptime, "
                                       "OCPI objects)")
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    finance = what.add_parser("finance", help="finance_sessions stopped within --from..--to (UTC)")
    _days(finance)
    finance.add_argument("--format", choices=["csv", "parquet"], default="csv")
    finance.set_defaults(func=run_finance)
    register_uptime(what)
    for name, help_text in _OCPI.items():
        ocpi = what.add_parser(name, help=help_text)
        if name == "ocpi-cdrs":
            _days(ocpi)
        else:
            ocpi.add_argument("--data-dir", required=True, type=Path)
            ocpi.add_argument("--output", required=True, type=Path)
        ocpi.add_argument("--country-code", default="XX",
                          help="your OCPI party's ISO 3166-1 alpha-2 country (XX: not set)")
        ocpi.add_argument("--party-id", default="XXX", help="your OCPI party id (3 characters)")
        ocpi.set_defaults(func=run_ocpi)


def _days(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="last_day", required=True, metavar="YYYY-MM-DD", help="inclusive")
    p.add_argument("--output", required=True, type=Path)


def run_finance(args: argparse.Namespace) -> int:
    from warehouse.export import export_finance, parse_day

    first = parse_day(args.first_day, "--from")
    last = parse_day(args.last_day, "--to")
    count = export_finance(args.data_dir, first, last, args.format, args.output)
    print(f"wrote {count} sessions to {args.output}", file=sys.stderr)
    return 0


def register_uptime(what: Any) -> None:
    uptime = what.add_parser("uptime", help="port uptime per day or month within --from..--to "
                                            "(UTC), and the exclusions applied (docs/uptime.md)")
    uptime.add_argument("--data-dir", required=True, type=Path)
    uptime.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD")
    uptime.add_argument("--to", dest="last_day", required=True, metavar="YYYY-MM-DD",
                        help="inclusive")
    uptime.add_argument("--period", choices=["day", "month"], default="day")
    uptime.add_argument("--format", choices=["csv", "parquet"], default="csv")
    uptime.add_argument("--output", required=True, type=Path,
                        help="the port rows; the exclusions go to OUTPUT's stem + "
                             ".exclusions + its suffix")
    uptime.set_defaults(func=run_uptime)


def run_uptime(args: argparse.Namespace) -> int:
    from warehouse.export import parse_day
    from warehouse.uptime_export import exclusions_path, export_uptime

    first = parse_day(args.first_day, "--from")
    last = parse_day(args.last_day, "--to")
    rows, excluded = export_uptime(args.data_dir, first, last, args.format, args.output,
                                   period=args.period)
    print(f"wrote {rows} port {args.period}s to {args.output}, {excluded} exclusions to "
          f"{exclusions_path(args.output)}", file=sys.stderr)
    return 0


def run_ocpi(args: argparse.Namespace) -> int:
    """Write the valid objects; print the summary (valid, invalid, left out) and each invalid
    object's problems; exit 1 when any object was invalid."""
    import re
    from datetime import UTC, datetime

    from canonical.errors import ConfigError
    from chargeline.ocpi import export
    from chargeline.ocpi.objects import Party
    from warehouse.export import parse_day

    if not re.fullmatch(r"[A-Z]{2}", args.country_code) \
            or not re.fullmatch(r"[A-Z0-9]{3}", args.party_id):
        raise ConfigError(f"OCPI party must be a 2-letter country code and a 3-character party "
                          f"id, e.g. NL CHL: {args.country_code[:8]!r} {args.party_id[:8]!r}")
    party = Party(args.country_code, args.party_id)
    if args.what == "ocpi-cdrs":
        result = export.cdrs(args.data_dir, parse_day(args.first_day, "--from"),
                             parse_day(args.last_day, "--to"), party)
    elif args.what == "ocpi-sessions":
        result = export.sessions(args.data_dir, party)
    elif args.what == "ocpi-locations":
        result = export.locations(args.data_dir, party, datetime.now(UTC))
    else:
        result = export.tariffs(args.data_dir, party)
    export.write_json(result, args.output)
    for object_id, found in result.invalid.items():
        print(f"invalid {result.kind.value} {object_id}: " + "; ".join(found), file=sys.stderr)
    print(f"wrote {args.output}: {result.summary()}", file=sys.stderr)
    return 1 if result.invalid else 0
