"""Scoring the uptime views against the simulator's truth: per port, the seconds down by the
evidence (``int_port_downtime``), by the port's own status, and truly (``downtime`` truth
rows), over the same window — from the port's first evidence to the truth's ``end`` — and the
fleet's uptime each way. Plain functions over lists of dicts (no DuckDB here).

Times are ns since the epoch (UTC) or RFC 3339 text; seconds are wall seconds (the simulator
compresses its waits, so a simulated hour at speed 600 is 6 s here).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sim.score import S, _ns

Span = tuple[int, int]


def union_s(spans: list[Span], start: int, end: int) -> float:
    """Seconds covered by ``spans`` within [start, end), overlaps once."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in spans)
    total, reach = 0, start
    for a, b in clipped:
        begin = max(a, reach)
        if b > begin:
            total, reach = total + (b - begin), b
    return total / S


def score_uptime(truth: list[dict[str, Any]], ports: list[dict[str, Any]],
                 segments: list[dict[str, Any]]) -> dict[str, Any]:
    """``ports``: rows of ``int_uptime_ports``; ``segments``: rows of ``int_port_downtime``.
    Per port (``CP#port``): window_s, truth_down_s, evidence_down_s, self_reported_down_s;
    and the fleet's uptime %, truly, by the evidence and self-reported."""
    end = next(_ns(r["at"]) for r in truth if r["type"] == "end")
    true_spans: dict[str, list[Span]] = defaultdict(list)
    for r in truth:
        if r["type"] == "downtime":
            true_spans[r["charge_point_id"]].append((_ns(r["from"]), _ns(r["to"])))
    down: dict[tuple[str, int], dict[str, list[Span]]] = defaultdict(lambda: defaultdict(list))
    for seg in segments:
        span = (_ns(seg["segment_from"]), _ns(seg["segment_until"]))
        key = (seg["charge_point_id"], seg["port_id"])
        if seg["cause"] is not None and seg["excluded_category"] is None:
            down[key]["evidence"].append(span)
        if seg["self_reported_down"]:
            down[key]["self"].append(span)
    per_port = {}
    for p in ports:
        key, start = (p["charge_point_id"], p["port_id"]), _ns(p["first_seen_at"])
        if start >= end:
            continue
        per_port[f"{key[0]}#{key[1]}"] = {
            "window_s": (end - start) / S,
            "truth_down_s": round(union_s(true_spans[key[0]], start, end), 3),
            "evidence_down_s": round(union_s(down[key]["evidence"], start, end), 3),
            "self_reported_down_s": round(union_s(down[key]["self"], start, end), 3)}
    return {"ports": per_port, "fleet": _fleet(per_port)}


def _fleet(per_port: dict[str, dict[str, float]]) -> dict[str, float | None]:
    window = sum(p["window_s"] for p in per_port.values())

    def pct(column: str) -> float | None:
        down = sum(p[column] for p in per_port.values())
        return round(100 * (window - down) / window, 3) if window else None

    return {"ports": len(per_port), "window_s": round(window, 3),
            "truth_uptime_pct": pct("truth_down_s"),
            "evidence_uptime_pct": pct("evidence_down_s"),
            "self_reported_uptime_pct": pct("self_reported_down_s")}
