"""The ``chargeline`` command. Each subcommand lives in its own module under
``chargeline.commands`` and exposes ``register(subparsers)``; heavy imports happen inside the
command's run function so ``chargeline --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from canonical.errors import ChargelineError
from chargeline import __version__, commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chargeline",
        description="OCPP ingest, journal, real-time sessions and anomaly detection for CPOs.",
    )
    parser.add_argument("--version", action="version", version=f"chargeline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"chargeline.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point. Returns the process exit code; a ChargelineError prints one clear line."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ChargelineError as exc:
        print(f"chargeline {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
