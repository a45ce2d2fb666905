"""``chargeline frames`` and ``chargeline import``: the journal in the interchange format."""

from __future__ import annotations

import argparse
import sys
import time
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
    """All or nothing: every line is checked first (nothing written if one is bad), then the
    file is read again and appended a chunk at a time; neither pass holds the whole file."""
    from canonical.raw import InterchangeError
    from ingest.interchange import checked_frames, chunks
    from ingest.journal import JournalWriter

    if not args.file.is_file():
        raise ConfigError(f"no such file: {str(args.file)!r}")
    connection_id = f"import:{args.file.name}"
    now_ns = time.time_ns()
    written = 0
    with args.file.open("rb") as f:
        total = sum(1 for _ in checked_frames(f, connection_id, now_ns))
        f.seek(0)
        with JournalWriter(args.data_dir) as writer:
            try:
                for chunk in chunks(checked_frames(f, connection_id, now_ns)):
                    writer.write(chunk)
                    writer.sync()
                    written += len(chunk)
            except InterchangeError as exc:
                raise ConfigError(f"{args.file} changed while it was imported ({exc}); "
                                  f"{written} of its frames were written") from None
    print(f"imported {total} frames into {args.data_dir}", file=sys.stderr)
    return 0
