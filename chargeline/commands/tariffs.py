"""``chargeline tariffs add|list|import``: tariff versions (``<data-dir>/tariffs.parquet``).

Every value is checked before anything is written; an import is all or nothing. The views
(``finance_sessions``, OCPI) read the new versions at their next query: no restart needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from canonical.tariffs import TARIFF_FIELDS


def register(sub: Any) -> None:
    p = sub.add_parser("tariffs", help="manage tariffs (versioned prices per charger, site or "
                                       "default; docs/tariffs.md)")
    verbs = p.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="add a tariff, or the next version of one")
    add.add_argument("tariff_id", help="1-36 of [A-Za-z0-9._-]")
    add.add_argument("--scope", default="default", help="charger, site or default")
    add.add_argument("--scope-id", help="the charge point id or site id the tariff applies to")
    add.add_argument("--valid-from", required=True,
                     help="UTC date (2026-01-01) or date-time with offset; inclusive")
    add.add_argument("--valid-to", help="exclusive end, same forms (default: open-ended)")
    add.add_argument("--currency", default="EUR", help="ISO 4217, e.g. EUR")
    add.add_argument("--vat", required=True, help="VAT rate in percent, e.g. 21")
    add.add_argument("--energy", help="price per kWh excl. VAT (outside the bands)")
    add.add_argument("--band", action="append", default=[], metavar="HH:MM-HH:MM=PRICE",
                     help="energy price per kWh in a local time-of-day band (repeatable)")
    add.add_argument("--time", help="price per hour of charging excl. VAT")
    add.add_argument("--idle", help="price per hour idle (plugged, not charging) excl. VAT")
    add.add_argument("--idle-grace", help="idle minutes free of charge (default 0)")
    add.add_argument("--session-fee", help="flat fee per session excl. VAT")
    ls = verbs.add_parser("list", help="list every version")
    ls.add_argument("--csv", action="store_true", help="as CSV, in the import format")
    imp = verbs.add_parser("import", help="add the versions of a CSV file, all or nothing "
                                          f"(header: {','.join(TARIFF_FIELDS)})")
    imp.add_argument("file", type=Path)
    for verb in (add, ls, imp):
        verb.add_argument("--data-dir", type=Path, default=Path("data"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    verbs = {"add": _add, "list": _list, "import": _import}
    return verbs[args.verb](args)


def _add(args: argparse.Namespace) -> int:
    from canonical.tariffs import parse_tariff
    from warehouse.reference import add_tariffs

    tariff = parse_tariff({
        "tariff_id": args.tariff_id, "scope": args.scope, "scope_id": args.scope_id,
        "valid_from": args.valid_from, "valid_to": args.valid_to, "currency": args.currency,
        "vat_pct": args.vat, "energy_per_kwh": args.energy, "energy_bands": ";".join(args.band),
        "time_per_hour": args.time, "idle_per_hour": args.idle,
        "idle_grace_min": args.idle_grace, "session_fee": args.session_fee})
    (added,) = add_tariffs(args.data_dir, [tariff])
    print(f"tariff {added.tariff_id} version {added.version}", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    import csv

    from warehouse.reference import read_tariffs

    versions = read_tariffs(args.data_dir)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(TARIFF_FIELDS if args.csv else ("version", *TARIFF_FIELDS))
    for v in versions:
        bands = ";".join(f"{b.label()}={b.price_per_kwh}" for b in v.energy_bands)
        row = (v.tariff_id, v.scope.value, v.scope_id or "", v.valid_from.isoformat(),
               v.valid_to.isoformat() if v.valid_to else "", v.currency, v.vat_pct,
               _text(v.energy_per_kwh), bands, _text(v.time_per_hour), _text(v.idle_per_hour),
               v.idle_grace_min, _text(v.session_fee))
        out.writerow(row if args.csv else (v.version, *row))
    return 0


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _import(args: argparse.Namespace) -> int:
    from canonical.tariffs import tariffs_from_csv
    from chargeline.csv_import import import_csv
    from warehouse.reference import add_tariffs

    added = import_csv(args.file, lambda f: add_tariffs(args.data_dir, tariffs_from_csv(f)))
    print(f"imported {len(added)} tariff versions", file=sys.stderr)
    return 0
