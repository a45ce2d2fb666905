"""Scoring the pipeline against the simulator's truth: per detector precision, recall and
delay; sessions matched and energy error, in all and per OCPP version (``protocols``); and
billing (``score_billing``): per group of sessions
(all, per client profile, per fault) the energy error and the share held from billing. Plain
functions over lists of dicts (no DuckDB here).

Matching: a session by (charge_point_id, transaction_id). An alert matches a fault of the
same kind on the same charger when detected between 10 min before the fault (clock faults are
visible from the first frame) and ``window_s`` after it; each alert matches one fault at most
(the one about its own session first). Alerts detected after the run ended
(the fleet disconnecting) and alerts on chargers outside the truth are not scored. Delay is
``detected_at - fault at``, server clock, in seconds.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from canonical.enums import AlertKind
from canonical.raw import rfc3339_to_ns

S = 1_000_000_000


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def score_sessions(truth: list[dict[str, Any]], found: list[dict[str, Any]]) -> dict[str, Any]:
    expected = {(t["charge_point_id"], str(t["transaction_id"])): t for t in truth}
    got = {(f["charge_point_id"], str(f["transaction_id"])): f for f in found
           if (f["charge_point_id"], str(f["transaction_id"])) in expected}
    true_wh = sum(float(t["energy_wh"]) for t in expected.values())
    found_wh = sum(float(f["energy_wh"] or 0.0) for f in got.values())
    missed_wh = sum(float(t["energy_wh"]) for k, t in expected.items() if k not in got)
    error = found_wh - (true_wh - missed_wh)
    return {"sessions": {"expected": len(expected), "found": len(found), "matched": len(got)},
            "energy_error_wh": round(error, 3),
            "energy_error_pct": round(100 * error / true_wh, 4) if true_wh else None}


def score_alerts(faults: list[dict[str, Any]], alerts: list[dict[str, Any]],
                 window_s: float = 7200.0) -> dict[str, dict[str, float | None]]:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for fault in faults:
        by_kind[fault["kind"]].append(fault)
    alerts_by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alert in alerts:
        alerts_by_kind[alert["kind"]].append(alert)
    out = {}
    for kind in sorted(set(by_kind) | set(alerts_by_kind)):
        out[kind] = _detector(by_kind[kind], alerts_by_kind[kind], window_s)
    return out


def _detector(faults: list[dict[str, Any]], alerts: list[dict[str, Any]],
              window_s: float) -> dict[str, float | None]:
    used: set[int] = set()
    delays: list[float] = []
    for fault in faults:
        at = _ns(fault["at"])
        cp, tx = fault["charge_point_id"], fault.get("transaction_id")
        near = [i for i, a in enumerate(alerts) if i not in used
                and a["charge_point_id"] == cp
                and at - 600 * S <= _ns(a["detected_at"]) <= at + int(window_s * S)]
        # one alert per fault; the alert about the fault's own session first
        near.sort(key=lambda i: alerts[i].get("session_id") != f"{cp}:{tx}")
        if near:
            used.add(near[0])
            delays.append(max(0.0, (_ns(alerts[near[0]]["detected_at"]) - at) / S))
    hit = len(delays)
    matched_alerts = len(used)
    return {"precision": round(matched_alerts / len(alerts), 4) if alerts else None,
            "recall": round(hit / len(faults), 4) if faults else None,
            "delay_s_p50": _pct(delays, 0.5), "delay_s_p95": _pct(delays, 0.95),
            "faults": len(faults), "alerts": len(alerts)}


def _ns(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return rfc3339_to_ns(value)
    return int(value.timestamp() * S)  # a datetime from DuckDB


Key = tuple[str, str]


def _key(row: dict[str, Any]) -> Key:
    return row["charge_point_id"], str(row["transaction_id"])


def _billing_group(truth: list[dict[str, Any]], found: dict[Key, dict[str, Any]],
                   finance: dict[Key, list[bool]]) -> dict[str, Any]:
    """One group's figures. A session is finished when finance lists it, held when none of its
    finance rows is billable, billed twice when two or more are."""
    energy = score_sessions(truth, [found[k] for k in map(_key, truth) if k in found])
    finished = [finance[k] for k in map(_key, truth) if k in finance]
    held = sum(1 for rows in finished if not any(rows))
    return {"expected": energy["sessions"]["expected"], "matched": energy["sessions"]["matched"],
            "energy_error_wh": energy["energy_error_wh"],
            "energy_error_pct": energy["energy_error_pct"], "finished": len(finished),
            "held": held, "held_share": round(held / len(finished), 4) if finished else None,
            "billed_twice": sum(1 for rows in finished if sum(rows) > 1)}


def score_billing(truth: list[dict[str, Any]], found: list[dict[str, Any]],
                  finance: list[dict[str, Any]],
                  protocols: dict[str, str] | None = None) -> dict[str, Any]:
    """Billing per group of truth sessions: ``all``; ``clean`` (no fault: only profiles, which
    should bill with nothing held); ``no_profile`` (neither); ``profiles`` (per client profile,
    its sessions without a fault); ``faults`` (per fault name, its sessions); ``protocols``
    (per OCPP version, from ``protocols``: charge point id → protocol). ``finance``: rows of
    ``finance_sessions`` (charge_point_id, transaction_id, billable)."""
    by_key = {_key(f): f for f in found}
    billable: dict[Key, list[bool]] = defaultdict(list)
    for row in finance:
        billable[_key(row)].append(bool(row["billable"]))
    clean = [t for t in truth if not t.get("fault")]
    profiles: dict[str, list[dict[str, Any]]] = defaultdict(list)
    faults: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in clean:
        for name in t.get("profiles") or ():
            profiles[name].append(t)
    for t in truth:
        if t.get("fault"):
            faults[t["fault"]].append(t)

    def group(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return _billing_group(rows, by_key, billable)

    return {"all": group(truth), "clean": group(clean),
            "no_profile": group([t for t in clean if not t.get("profiles")]),
            "profiles": {name: group(rows) for name, rows in sorted(profiles.items())},
            "faults": {name: group(rows) for name, rows in sorted(faults.items())},
            "protocols": {name: group(rows) for name, rows in
                          sorted(_by_protocol(truth, protocols or {}).items())}}


def _by_protocol(rows: list[dict[str, Any]],
                 protocols: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """``rows`` grouped by their charger's protocol (rows of chargers not in it left out)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        protocol = protocols.get(row["charge_point_id"])
        if protocol is not None:
            out[protocol].append(row)
    return out


def score(truth_rows: list[dict[str, Any]], sessions: list[dict[str, Any]],
          alerts: list[dict[str, Any]], window_s: float = 7200.0,
          finance: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The whole report (the shape ``chargeline score --json`` prints); ``billing`` only
    with ``finance`` rows."""
    chargers = {r["charge_point_id"] for r in truth_rows if r["type"] == "charger"}
    end = next((_ns(r["at"]) for r in truth_rows if r["type"] == "end"), None)
    known = {k.value for k in AlertKind}
    scored = [a for a in alerts if a["kind"] in known
              and (not chargers or a["charge_point_id"] in chargers)
              and (end is None or _ns(a["detected_at"]) <= end)]
    found = [s for s in sessions if not chargers or s["charge_point_id"] in chargers]
    truth_sessions = [r for r in truth_rows if r["type"] == "session"]
    faults = [r for r in truth_rows if r["type"] == "fault"]
    protocols = {r["charge_point_id"]: r["protocol"] for r in truth_rows
                 if r["type"] == "charger" and r.get("protocol")}
    report = {"detectors": score_alerts(faults, scored, window_s),
              **score_sessions(truth_sessions, found),
              "protocols": {name: score_sessions(rows, found) for name, rows in
                            sorted(_by_protocol(truth_sessions, protocols).items())}}
    if finance is not None:
        report["billing"] = score_billing(truth_sessions, found, finance, protocols)
    return report
