"""``chargeline adapters``: the vendor adapters, what they serve, and which one a charger gets."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("adapters", help="list vendor adapters, or say which one a charger gets")
    p.add_argument("--config", type=Path, default=None,
                   help="data-only vendor config (default: adapters/vendors.toml)")
    p.add_argument("--vendor", help="with --model/--firmware: which adapter matches")
    p.add_argument("--model", default="")
    p.add_argument("--firmware", default="")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from adapters.registry import DEFAULT_CONFIG, Registry

    registry = Registry.default(args.config or DEFAULT_CONFIG)
    if args.vendor is not None:
        print(registry.match(args.vendor, args.model, args.firmware).name)
        return 0
    for name in registry.names():
        a = registry.adapters[name]
        serves = " ".join(f"{k}={v}" for k, v in (
            ("vendor", a.vendor), ("model", a.model), ("firmware>=", a.firmware_min),
            ("firmware<", a.firmware_max)) if v)
        print(f"{name:<16} {a.description}\n{'':<16} {serves or '(fallback for unknown chargers)'}")
    return 0
