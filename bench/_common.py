"""Helpers shared by the benchmarks: free ports, subprocesses, result files."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from chargeline.ports import free_port, wait_port

__all__ = ["free_port", "percentile", "report", "spawn", "wait_port"]

RESULTS = Path(__file__).parent / "results"


def spawn(args: list[str], **kw: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, result: dict[str, Any], table: list[tuple[str, Any]]) -> None:
    """Print the JSON object and a short table; save to bench/results/<name>.json."""
    result = {"benchmark": name, "date": dt.date.today().isoformat(),
              "machine": f"{os.cpu_count()} cores", **result}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    width = max(len(k) for k, _ in table)
    for key, value in table:
        print(f"  {key:<{width}}  {value}")
