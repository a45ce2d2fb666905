"""Firmware rollouts for the dashboards: the agent's state files (``<data_dir>/rollouts/<id>.json``,
docs/firmware.md), read-only, as the frames and sentences the Rollouts page lays out.

Each file is parsed by ``Rollout.from_json`` once per version of it: the cache keys on its
path, mtime and size, so the agent's next rewrite (an atomic rename: a new mtime) shows at the
page's next refresh and an unchanged file is not read again. A file that cannot be read
(corrupt, another format) is a ``RolloutFile`` carrying the error, never an exception. Times
are UTC ``pd.Timestamp``s (``NaT`` when not known yet).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from canonical.rollouts import ChargerState, GateResult, OnFailure, Rollout
from chargeline.firmware.store import rollouts_dir
from dashboards.data import data_dir

# The chargers an operator looks at first: failures and rollbacks, then those on their way,
# then the done and the not yet started.
_S = ChargerState
STATE_ORDER = (_S.failed, _S.rollback_failed, _S.rolled_back, _S.rollback_sent,
               _S.rollback_sending, _S.skipped, _S.installed, _S.installing, _S.downloaded,
               _S.downloading, _S.sent, _S.sending, _S.updated, _S.pending)
CHARGER_COLUMNS = ["charge_point_id", "wave", "model", "vendor", "from_version", "state",
                   "firmware_status", "booted_version", "reason", "answer", "changed_at"]


@dataclass(frozen=True)
class RolloutFile:
    """One state file: its ``rollout``, or the ``error`` that kept it from being read."""

    name: str
    rollout: Rollout | None = None
    error: str | None = None


def files() -> list[RolloutFile]:
    """Every rollout of ``data_dir()``: the readable ones newest first (by ``created_at``),
    then the unreadable ones by name; empty without a ``rollouts/`` folder."""
    folder = rollouts_dir(data_dir())
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name.endswith(".control.json"):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed since the listing
            continue
        found.append(_read(str(path), stat.st_mtime_ns, stat.st_size))
    return sorted(found, key=lambda f: (f.rollout is None,
                                        -f.rollout.created_at if f.rollout else 0, f.name))


@st.cache_data(show_spinner=False, max_entries=256)
def _read(path: str, mtime_ns: int, size: int) -> RolloutFile:
    # ``mtime_ns`` and ``size`` are arguments so that the cache keys on the file's version.
    name = Path(path).name
    try:
        return RolloutFile(name, Rollout.from_json(Path(path).read_bytes()))
    # Cut off or not JSON (orjson's error is a ValueError), another format, a field missing
    # (KeyError), of the wrong type or unknown (TypeError), not an object (AttributeError).
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return RolloutFile(name, error=f"{type(exc).__name__}: {exc}")


def at(ns: int | None) -> pd.Timestamp:
    """UTC ns since the epoch as a UTC timestamp; ``NaT`` for None."""
    return pd.Timestamp(ns, unit="ns", tz="UTC") if ns is not None else pd.NaT


def states_present(r: Rollout) -> list[str]:
    """The charger states this rollout has, in ``STATE_ORDER``."""
    present = {t.state for t in r.chargers}
    return [s.value for s in STATE_ORDER if s in present]


def waves(r: Rollout) -> pd.DataFrame:
    """One row a wave: ``wave`` (from 1), ``percent`` planned (cumulative, per model), status,
    its chargers and how many are in each state, and its times."""
    rows = []
    for w in r.waves:
        counts = Counter(t.state.value for t in r.in_wave(w.index))
        rows.append({"wave": w.index + 1, "percent": w.percent, "status": w.status.value,
                     "chargers": sum(counts.values()),
                     **{s: counts.get(s, 0) for s in states_present(r)},
                     "started_at": at(w.started_at), "settled_at": at(w.settled_at),
                     "soak_until": at(w.soak_until), "finished_at": at(w.finished_at)})
    return pd.DataFrame(rows)


def wave_states(r: Rollout) -> pd.DataFrame:
    """Chargers per (wave, state), for a stacked bar chart: ``wave`` is 'wave 1 (5%)'…"""
    percent = {w.index: w.percent for w in r.waves}
    counts = Counter((t.wave, t.state.value) for t in r.chargers)
    return pd.DataFrame([{"wave": f"wave {w + 1} ({percent.get(w, 0):g}%)", "state": s,
                          "chargers": n}
                         for (w, s), n in sorted(counts.items())],
                        columns=["wave", "state", "chargers"])


def gates(r: Rollout) -> pd.DataFrame:
    """Every gate figure of every wave (per model): value against limit in ``unit``, over
    ``n`` chargers or sessions, ``breached``, the chargers behind a breach."""
    return pd.DataFrame(
        [{"wave": w.index + 1, "gate": g.gate.value, "model": g.model, "value": g.value,
          "limit": g.limit, "unit": g.unit, "n": g.n, "baseline": g.baseline,
          "breached": g.breached, "chargers": ", ".join(g.charge_point_ids)}
         for w in r.waves for g in w.gates],
        columns=["wave", "gate", "model", "value", "limit", "unit", "n", "baseline",
                 "breached", "chargers"])


def chargers(r: Rollout, state: str | None = None) -> pd.DataFrame:
    """The rollout's chargers (of ``state`` if given), by state in ``STATE_ORDER``, then id."""
    rank = {s.value: i for i, s in enumerate(STATE_ORDER)}
    rows = [{"charge_point_id": t.charge_point_id, "wave": t.wave + 1, "model": t.model,
             "vendor": t.vendor, "from_version": t.from_version, "state": t.state.value,
             "firmware_status": t.firmware_status, "booted_version": t.booted_version,
             "reason": t.reason, "answer": t.answer, "changed_at": at(t.changed_at)}
            for t in r.chargers if state in (None, t.state.value)]
    rows.sort(key=lambda row: (rank[row["state"]], row["charge_point_id"]))
    return pd.DataFrame(rows, columns=CHARGER_COLUMNS)


def halted_wave(r: Rollout, halt: GateResult) -> int:
    """The wave (from 1) whose gate figure is the halt: the current one if none holds it."""
    return next((w.index for w in r.waves if halt in w.gates), r.wave) + 1


def halt_reason(r: Rollout) -> str | None:
    """Why the rollout halted, in a sentence: gate, model, wave, value against limit, the
    chargers behind it. None when it has not halted on a gate."""
    g = r.halt
    if g is None:
        return None
    named = ", ".join(g.charge_point_ids) or "none named"
    return (f"Halted: gate {g.gate.value} breached by model {g.model} in wave "
            f"{halted_wave(r, g)}: {g.value:g} {g.unit} against a limit of {g.limit:g} "
            f"{g.unit} (over {g.n}). Chargers behind it: {named}.")


def rollback_progress(r: Rollout) -> str | None:
    """How the rollback of a halted rollout stands; None when it does not roll back."""
    if r.halt is None or r.on_failure != OnFailure.rollback:
        return None
    sent = [t for t in r.chargers if t.rollback_step is not None]
    counts = Counter(t.state.value for t in sent)
    states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none yet"
    return f"Rollback to the previous image: {len(sent)} chargers ({states})."


def stamp(ns: int | None) -> str:
    """UTC ns since the epoch as ``2026-01-01 10:00:00 UTC``; '-' for None."""
    return "-" if ns is None else at(ns).strftime("%Y-%m-%d %H:%M:%S UTC")
