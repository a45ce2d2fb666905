"""``chargeline firmware``: staged firmware rollouts with health gates (docs/firmware.md).

``rollout`` plans one (the cohort from ``charger_status``, its waves, the sessions' baseline)
into ``<data_dir>/rollouts/<id>.json``; the agent beside ``serve`` drives it. ``status`` shows
waves, gate figures and every charger; ``pause``, ``resume``, ``abort`` ask the agent.
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
import time
from pathlib import Path
from typing import Any

from canonical.rollouts import GateLimits


def register(sub: Any) -> None:
    p = sub.add_parser("firmware", help="staged firmware rollouts with health gates")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    r = verbs.add_parser("rollout", help="plan a rollout (the agent beside serve runs it)")
    r.add_argument("--data-dir", type=Path, default=Path("data"))
    r.add_argument("--to", required=True, metavar="VERSION", help="the version to install")
    r.add_argument("--location", required=True, metavar="URL", help="where the image is")
    r.add_argument("--model"), r.add_argument("--vendor")
    r.add_argument("--from-version", metavar="X", help="only chargers on this version")
    r.add_argument("--waves", default="5%,25%,100%", help="cumulative shares of each model")
    r.add_argument("--soak", type=float, default=1800.0, metavar="S",
                   help="seconds a wave is watched after its last charger settled")
    r.add_argument("--install-timeout", type=float, default=3600.0, metavar="S",
                   help="seconds a charger has to boot on the new version")
    r.add_argument("--silent-after", type=float, default=900.0, metavar="S",
                   help="a charger silent this long after its update is not back online")
    limits = GateLimits()  # the defaults, shown in --help
    r.add_argument("--max-failed-share", type=float, default=limits.install_failed_share,
                   metavar="X", help="a wave halts when more of a model failed to install")
    r.add_argument("--max-boot-loops", type=int, default=limits.boot_loops, metavar="N",
                   help="a wave halts when more of a model's chargers boot-loop")
    r.add_argument("--max-not-back-share", type=float, default=limits.not_back_share,
                   metavar="X", help="a wave halts when more of a model is not back online")
    r.add_argument("--max-success-drop", type=float, default=limits.session_success_drop,
                   metavar="X", help="a wave halts when a model's session success falls more "
                                     "below its baseline (a share: 0.2 = 20 points)")
    r.add_argument("--max-metering-rise", type=float, default=limits.metering_rise,
                   metavar="X", help="a wave halts when a model's share of sessions with meter "
                                     "findings rises more above its baseline")
    r.add_argument("--retrieve-at", metavar="T", help="RFC 3339 time to download at")
    r.add_argument("--on-failure", choices=["halt", "rollback"], default="halt")
    r.add_argument("--rollback-location", metavar="URL",
                   help="the previous image, '{version}' for the charger's previous version "
                        "(default: --location with the new version replaced)")
    r.add_argument("--signing-certificate", type=Path, help="2.0.1 signed firmware: PEM file")
    r.add_argument("--signature", help="2.0.1 signed firmware: base64 signature")
    r.add_argument("--id", help="the rollout's id (default: fw-<version>-<UTC time>)")
    r.add_argument("--paused", action="store_true",
                   help="plan it paused: nothing is sent until `firmware resume`")
    r.set_defaults(func=plan)
    s = verbs.add_parser("status", help="waves, gates and chargers of rollouts")
    s.add_argument("--data-dir", type=Path, default=Path("data"))
    s.add_argument("rollout_id", nargs="?")
    s.add_argument("--json", action="store_true", help="the state file as it is")
    s.set_defaults(func=status)
    for verb in ("pause", "resume", "abort"):
        v = verbs.add_parser(verb, help=f"{verb} a rollout")
        v.add_argument("--data-dir", type=Path, default=Path("data"))
        v.add_argument("rollout_id")
        v.set_defaults(func=operate, request=verb)


def plan(args: argparse.Namespace) -> int:
    from canonical.raw import rfc3339_to_ns
    from canonical.rollouts import OnFailure, RolloutStatus
    from chargeline.firmware import plan as p
    from chargeline.firmware import store

    now = time.time_ns()
    percents = p.parse_waves(args.waves)
    filters = {"model": args.model, "vendor": args.vendor, "from_version": args.from_version}
    members = p.cohort(args.data_dir, args.to, filters)
    if not members:
        print("chargeline firmware: no charger matches (charger_status)", file=sys.stderr)
        return 1
    rollback = args.rollback_location or p.default_rollback_location(args.location, args.to)
    if args.on_failure == "rollback" and rollback is None:
        print("chargeline firmware: --on-failure rollback needs --rollback-location",
              file=sys.stderr)
        return 2
    tracks = p.split_waves(members, percents)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now / 1e9))
    rollout_id = store.check_id(args.id or f"fw-{args.to}-{stamp}")
    if rollout_id in store.list_ids(args.data_dir):
        print(f"chargeline firmware: rollout {rollout_id} exists", file=sys.stderr)
        return 2
    rollout = p.make_rollout(
        rollout_id, now, tracks, percents, to_version=args.to, location=args.location,
        rollback_location=rollback, on_failure=OnFailure(args.on_failure), soak_s=args.soak,
        install_timeout_s=args.install_timeout,
        limits=GateLimits(install_failed_share=args.max_failed_share,
                          boot_loops=args.max_boot_loops,
                          not_back_share=args.max_not_back_share,
                          session_success_drop=args.max_success_drop,
                          metering_rise=args.max_metering_rise,
                          silent_after_s=args.silent_after), filters=filters,
        retrieve_at=rfc3339_to_ns(args.retrieve_at) if args.retrieve_at else None,
        signing_certificate=args.signing_certificate.read_text()
        if args.signing_certificate else None, signature=args.signature)
    rollout.baseline = p.baseline(args.data_dir, tracks, now)
    if args.paused:
        rollout.status = RolloutStatus.paused
    store.save(args.data_dir, rollout)
    sizes = [len(rollout.in_wave(w.index)) for w in rollout.waves]
    print(f"{rollout_id}: {len(tracks)} chargers in waves of {sizes}; the agent of `chargeline "
          f"serve --data-dir {args.data_dir}` runs it")
    return 0


def status(args: argparse.Namespace) -> int:
    from chargeline.firmware import store
    from chargeline.firmware.report import describe

    ids = [args.rollout_id] if args.rollout_id else store.list_ids(args.data_dir)
    for rollout_id in ids:
        rollout = store.load(args.data_dir, rollout_id)
        if args.json:
            sys.stdout.write(rollout.to_json().decode() + "\n")
        else:
            print(describe(rollout, store.control(args.data_dir, rollout_id)))
    return 0


def operate(args: argparse.Namespace) -> int:
    from canonical.rollouts import OperatorRequest
    from chargeline.firmware import store

    by = f"{getpass.getuser()}@{socket.gethostname()}"
    store.request(args.data_dir, args.rollout_id, OperatorRequest(args.request),
                  time.time_ns(), by)
    print(f"{args.rollout_id}: {args.request} asked; the agent applies it at its next look")
    return 0
