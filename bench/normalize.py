"""Adapters throughput: frames/s through ChargerNormalizer on realistic traffic (every fixture
trace, replayed for many chargers), beside a parse-only baseline (orjson.loads of each frame)
in the same run."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from adapters.normalizer import ChargerNormalizer, default_registry
from bench._common import report
from canonical.raw import RawFrame, from_interchange

FRAMES = Path(__file__).parents[1] / "tests" / "data" / "frames"


def traffic(chargers: int) -> list[RawFrame]:
    traces = [p.read_bytes().splitlines() for p in sorted(FRAMES.glob("*/*.jsonl"))]
    out: list[RawFrame] = []
    for c in range(chargers):
        for line_no, line in enumerate(traces[c % len(traces)], start=1):
            frame = from_interchange(line, line_no, f"conn-{c}")
            out.append(frame.replace(frame_id=len(out) + 1, charge_point_id=f"CP-{c:05d}"))
    return out


def normalize_all(frames: list[RawFrame]) -> int:
    registry = default_registry()
    table: dict[str, ChargerNormalizer] = {}
    count = 0
    for frame in frames:
        n = table.get(frame.charge_point_id)
        if n is None:
            n = table[frame.charge_point_id] = ChargerNormalizer(frame.charge_point_id, registry)
        count += len(n.normalize(frame))
    return count


def parse_all(frames: list[RawFrame]) -> int:
    return sum(len(orjson.loads(f.raw)) for f in frames)


def timed(fn: object, frames: list[RawFrame]) -> tuple[float, int]:
    start = time.perf_counter()
    result = fn(frames)  # type: ignore[operator]
    return time.perf_counter() - start, int(result)


def main() -> None:
    frames = traffic(20_000)
    base_s, _ = min(timed(parse_all, frames) for _ in range(3))
    norm_s, events = min(timed(normalize_all, frames) for _ in range(3))
    n = len(frames)
    report("normalize", {
        "frames": n, "events": events, "frames_per_s": round(n / norm_s),
        "baseline_parse_frames_per_s": round(n / base_s), "ratio": round(base_s / norm_s, 3),
        "us_per_frame": round(norm_s / n * 1e6, 2)},
        [("frames", n), ("normalize frames/s", round(n / norm_s)),
         ("orjson parse frames/s (baseline)", round(n / base_s)),
         ("ratio", round(base_s / norm_s, 3))])


if __name__ == "__main__":
    main()
