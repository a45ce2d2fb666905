"""``chargeline firmware status`` as text: the rollout, its waves with their gate figures,
and its chargers by state."""

from __future__ import annotations

from collections import Counter

from canonical.raw import ns_to_rfc3339
from canonical.rollouts import Rollout
from chargeline.firmware.store import Control


def _at(ns: int | None) -> str:
    return ns_to_rfc3339(ns)[:19] + "Z" if ns else "-"


def describe(r: Rollout, control: Control | None = None) -> str:
    lines = [f"{r.rollout_id}: {r.status.value} -> {r.to_version} ({len(r.chargers)} chargers, "
             f"on failure {r.on_failure.value}, soak {r.soak_s:g} s)"]
    if control is not None and (r.operator_at is None or control.at > r.operator_at):
        lines.append(f"  asked: {control.request.value} by {control.by} (not applied yet)")
    if r.halt is not None:
        g = r.halt
        lines.append(f"  halted {_at(r.halted_at)}: {g.gate.value} {g.value:g} {g.unit} > "
                     f"{g.limit:g} ({g.model}, {g.n}; {', '.join(g.charge_point_ids[:5])}); "
                     f"first failure {_at(r.first_failure_at)}")
    for w in r.waves:
        states = Counter(t.state.value for t in r.in_wave(w.index))
        lines.append(f"  wave {w.index + 1} ({w.percent:g}%): {w.status.value}, started "
                     f"{_at(w.started_at)}; " + ", ".join(f"{k} {v}" for k, v in
                                                          sorted(states.items())))
        for g in w.gates:
            mark = "BREACH" if g.breached else "ok"
            lines.append(f"    {g.gate.value:<16} {g.model:<20} {g.value:>8g} {g.unit:<8} "
                         f"limit {g.limit:g} over {g.n} {mark}")
    for t in r.chargers:
        lines.append(f"  {t.charge_point_id:<24} w{t.wave + 1} {t.state.value:<16} "
                     f"{t.model:<20} {t.from_version or '?'} -> {t.booted_version or '-'} "
                     f"{t.firmware_status or ''} {t.reason}".rstrip())
    return "\n".join(lines)
