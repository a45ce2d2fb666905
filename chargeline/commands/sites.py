"""``chargeline sites add|list|import``: where chargers stand (``<data-dir>/sites.parquet``).

A site's time zone is the one its tariffs' time-of-day bands are read in; its address and
coordinates are its OCPI Location. A charger in no site is in the site ``default``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from canonical.sites import SITE_FIELDS


def register(sub: Any) -> None:
    p = sub.add_parser("sites", help="manage sites: address, time zone, chargers (OCPI "
                                     "Locations; docs/tariffs.md)")
    verbs = p.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="add a site, or replace the one of its id")
    add.add_argument("site_id", help="1-36 of [A-Za-z0-9._-]; 'default' for chargers in no site")
    add.add_argument("--name", required=True)
    add.add_argument("--address", required=True, help="street and number (<= 45 characters)")
    add.add_argument("--city", required=True)
    add.add_argument("--postal-code", default="")
    add.add_argument("--country", required=True, help="ISO 3166-1 alpha-3, e.g. NLD")
    add.add_argument("--latitude", required=True, help="decimal degrees, 5-7 decimals")
    add.add_argument("--longitude", required=True, help="decimal degrees, 5-7 decimals")
    add.add_argument("--time-zone", required=True, help="IANA name, e.g. Europe/Amsterdam")
    add.add_argument("--charger", action="append", default=[], metavar="CP_ID",
                     help="a charge point id of the site (repeatable)")
    for name in ("connector-standard", "connector-format", "power-type", "max-voltage",
                 "max-amperage"):
        add.add_argument(f"--{name}", default="", help="OCPI connector data (docs/ocpi.md)")
    ls = verbs.add_parser("list", help="list the sites")
    imp = verbs.add_parser("import", help="add or replace the sites of a CSV file, all or "
                                          f"nothing (header: {','.join(SITE_FIELDS)})")
    imp.add_argument("file", type=Path)
    for verb in (add, ls, imp):
        verb.add_argument("--data-dir", type=Path, default=Path("data"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    verbs = {"add": _add, "list": _list, "import": _import}
    return verbs[args.verb](args)


def _add(args: argparse.Namespace) -> int:
    from canonical.sites import parse_site
    from warehouse.reference import put_sites

    fields = {f: getattr(args, f, None) for f in SITE_FIELDS}
    fields["charge_point_ids"] = " ".join(args.charger)
    site = parse_site(fields)
    put_sites(args.data_dir, [site])
    print(f"site {site.site_id}: {len(site.charge_point_ids)} chargers", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    import csv

    from warehouse.reference import read_sites

    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(SITE_FIELDS)
    for s in read_sites(args.data_dir):
        out.writerow([" ".join(s.charge_point_ids) if f == "charge_point_ids"
                      else getattr(s, f) for f in SITE_FIELDS])
    return 0


def _import(args: argparse.Namespace) -> int:
    from canonical.sites import sites_from_csv
    from chargeline.csv_import import import_csv
    from warehouse.reference import put_sites

    count = import_csv(args.file, lambda f: put_sites(args.data_dir, sites_from_csv(f)))
    print(f"imported {count} sites", file=sys.stderr)
    return 0
