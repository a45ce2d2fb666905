"""Figures the reliability tests reach, printed so that ``pytest -s`` shows them
(docs/reliability.md quotes them)."""

from __future__ import annotations

import json
import statistics
from typing import Any


def report(test: str, **figures: Any) -> None:
    print(f"\nFIGURES {test} {json.dumps(figures, default=str, sort_keys=True)}")


def median_ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 3)


def p99_ms(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 3)
