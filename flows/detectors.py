"""The registered detectors, in the order each event reaches them (one line each)."""

from __future__ import annotations

from flows.clock_drift import DriftEstimator
from flows.detector import Detector
from flows.health import HealthTracker
from flows.sessions import SessionBook

DETECTORS: tuple[type[Detector], ...] = (
    DriftEstimator,  # first: sessions correct their times with its estimate
    SessionBook,
    HealthTracker,
)
