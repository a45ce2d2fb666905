"""Run every benchmark in turn (``make bench``); each prints one JSON object and a table and
writes bench/results/<name>.json. A missing or failing benchmark is reported, not fatal."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = ["ingest", "connections", "normalize", "replay", "latency", "queries", "restart",
              "commands", "proxy", "kafka"]


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    failed = []
    for name in sys.argv[1:] or BENCHMARKS:
        if not (root / "bench" / f"{name}.py").exists():
            print(f"== {name}: not present, skipped")
            continue
        print(f"== {name}", flush=True)
        t0 = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=root)
        print(f"== {name}: exit {code} in {time.monotonic() - t0:.0f}s", flush=True)
        if code:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
