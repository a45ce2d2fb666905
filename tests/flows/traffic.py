"""Realistic mixed traffic for flow tests: every fixture trace, copied for many chargers,
merged in receive-time order (as a live journal is) and moved to start at ``start_ns``."""

from __future__ import annotations

from pathlib import Path

import orjson

from canonical.raw import ns_to_rfc3339, rfc3339_to_ns
from tests.adapters.conftest import FRAMES

S = 10**9


MAX_SPAN_NS = 6 * 3600 * S  # the live tests' traffic starts an hour ahead, `import` takes a day


def traffic_lines(copies: int, start_ns: int) -> list[bytes]:
    rows: list[tuple[int, int, dict[str, object]]] = []
    for copy in range(copies):
        for trace_no, path in enumerate(sorted(FRAMES.glob("*/*.jsonl"))):
            lines = path.read_bytes().splitlines()
            first = rfc3339_to_ns(orjson.loads(lines[0])["ts"])
            if rfc3339_to_ns(orjson.loads(lines[-1])["ts"]) - first > MAX_SPAN_NS:
                continue  # weeks of back-fill (Q33): would put the traffic weeks ahead
            shift = (copy * 7 + trace_no) * S
            for line in lines:
                obj = orjson.loads(line)
                obj["charge_point_id"] = f"{obj['charge_point_id']}-{copy:03d}"
                at = rfc3339_to_ns(obj["ts"]) - first + shift
                rows.append((at, len(rows), obj))
    rows.sort(key=lambda r: (r[0], r[1]))
    out = []
    for at, _, obj in rows:
        obj["ts"] = ns_to_rfc3339(start_ns + at)
        out.append(orjson.dumps(obj))
    return out


def write_chunks(lines: list[bytes], directory: Path, chunks: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    size = -(-len(lines) // chunks)
    paths = []
    for i in range(chunks):
        path = directory / f"chunk-{i:02d}.jsonl"
        path.write_bytes(b"\n".join(lines[i * size:(i + 1) * size]) + b"\n")
        paths.append(path)
    return paths
