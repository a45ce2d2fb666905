"""``chargeline frames`` and ``chargeline import``: the journal in the interchange format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from canonical.errors import ConfigError


def register(sub: Any) -> None:
    frames = sub.add_parser("frames", help="print journal frames in the interchange format")
    frames.add_argument("--data-dir", required=True, type=Path)
    frames.add_argument("--charger", help="only this charge point id")
    frames.add_argument("--since", help="only frames received at or after this RFC3339 time")
    frames.add_argument("--format", choices=["jsonl"], default="jsonl")
    frames.set_defaults(func=run_frames)

    imp = sub.add_parser("import", help="append an interchange JSONL file to the journal")
    imp.add_argument("--data-dir", required=True, type=Path)
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=run_import)


def run_frames(args: argparse.Namespace) -> int:
    import pyarrow.compute as pc

    from canonical import RawFrame, from_table
    from canonical.enums import RecordKind
    from canonical.raw import rfc3339_to_ns, to_interchange
    from ingest.journal import JournalReader

    table = JournalReader(args.data_dir).read_all()
    mask = pc.equal(table["record_kind"], RecordKind.frame.value)
    if args.charger:
        mask = pc.and_(mask, pc.equal(table["charge_point_id"], args.charger))
    if args.since:
        try:
            since = rfc3339_to_ns(args.since)
        except ValueError:
            raise ConfigError(f"--since is not an RFC3339 time: {args.since!r}") from None
        ns = table["received_at"].cast("int64")
        mask = pc.and_(mask, pc.greater_equal(ns, since))
    out = sys.stdout.buffer
    for frame in from_table(RawFrame, table.filter(mask)):
        out.write(to_interchange(frame) + b"\n")
    out.flush()
    return 0


def run_import(args: argparse.Namespace) -> int:
    from canonical.raw import from_interchange
    from ingest.journal import JournalWriter

    if not args.file.is_file():
        raise ConfigError(f"no such file: {str(args.file)!r}")
    connection_id = f"import:{args.file.name}"
    with args.file.open("rb") as f:
        records = [from_interchange(line, n, connection_id)
                   for n, line in enumerate(f, start=1) if line.strip()]
    with JournalWriter(args.data_dir) as writer:
        for start in range(0, len(records), 10_000):
            writer.append(records[start : start + 10_000])
    print(f"imported {len(records)} frames into {args.data_dir}", file=sys.stderr)
    return 0
