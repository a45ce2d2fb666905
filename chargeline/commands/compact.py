"""``chargeline compact``: merge small Parquet files; readers keep reading correct results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("compact", help="merge small warehouse files per table and day")
    p.add_argument("--data-dir", required=True, type=Path)
    p.add_argument("--table", action="append", dest="tables",
                   help="only this table (repeatable); default all")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from warehouse.maintenance import compact

    report = compact(args.data_dir, args.tables)
    print(f"merged {report.files_merged} files into {report.files_written}: "
          f"{report.bytes_before:,} → {report.bytes_after:,} bytes")
    return 0
