"""Fixture traces (interchange JSONL under tests/data/frames/<vendor>/) → canonical events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.normalizer import ChargerNormalizer, normalize_batch
from adapters.registry import Registry
from canonical.events import CanonicalEvent
from canonical.raw import RawFrame, from_interchange

FRAMES = Path(__file__).parents[1] / "data" / "frames"


def load_trace(name: str) -> list[RawFrame]:
    """The frames of ``<vendor>/<file>.jsonl``, numbered from 1 as the journal would."""
    lines = (FRAMES / name).read_bytes().splitlines()
    return [from_interchange(line, i, "fixture").replace(frame_id=i)
            for i, line in enumerate(lines, start=1)]


def normalize_trace(name: str, registry: Registry | None = None) -> list[CanonicalEvent]:
    normalizers: dict[str, ChargerNormalizer] = {}
    events = normalize_batch(load_trace(name), registry, normalizers)
    for normalizer in normalizers.values():
        events.extend(normalizer.flush())
    return events


@pytest.fixture
def trace() -> Callable[[str], list[CanonicalEvent]]:
    return normalize_trace


def of_type(events: list[CanonicalEvent], event_type: str) -> list[CanonicalEvent]:
    return [e for e in events if e.event_type == event_type]
