"""Thresholds of the detectors, in seconds and Wh. One frozen object, passed to every tracker."""

from __future__ import annotations

from dataclasses import dataclass

from canonical.enums import RecoveryPolicy

S = 1_000_000_000  # nanoseconds per second


@dataclass(frozen=True, slots=True)
class FlowConfig:
    """Detector settings. Times are server-clock seconds (receive time), never charger time.

    - ``drift_alert_s``: |charger clock - server clock| above this raises ``clock_drift``.
    - ``drift_min_samples``: live timestamps needed before the estimate is trusted.
    - ``late_stop_s``: a Stop received this long after its own (corrected) time is late.
    - ``stuck_after_s``: an active session silent this long, while its charger is offline or
      silent, is stuck.
    - ``offline_after_s``: a charger disconnected this long raises ``charger_offline``.
    - ``boot_loop_boots`` within ``boot_loop_window_s``; ``flap_connects`` within
      ``flap_window_s``.
    - ``mismatch_tolerance_wh`` (or ``mismatch_tolerance_pct`` of the session) before a meter
      disagreement is an alert.
    - ``max_power_w`` / ``max_power_ac_w``: the most a charger of unknown kind (or DC) / an AC
      charger can deliver; energy past it in a session's duration is implausible
      (``flows.plausibility``); ``plausible_min_wh``: sessions below it are not judged.
    - ``stop_tolerance_wh`` / ``stop_tolerance_pct``: how far a second stop's meterStop may
      differ before the session is held (``flows.stops``).
    - ``minute_grace_s``: a health minute closes this long after it ends.
    - ``evict_after_s``: a charger offline and silent this long, with no session running, is
      dropped from the flow's state (it starts afresh if it talks again; the warehouse keeps
      its history); a stuck or abandoned session silent this long is forgotten.
    - ``recovery``: what the flow decides about stuck sessions (``flows.recovery``): ``act``
      closes on the charger's evidence, ``observe`` only flags what it would close, ``off``
      neither. ``recovery_close_after_s``: a stuck session whose charger stays offline this
      long after the session's last evidence is closed softly at its last reading.
    - ``fast_path``: heartbeats and answers that change nothing but counters are folded per
      charger per batch (``flows.fastpath``); off, every frame takes the full path (the same
      tables, slower: for the tests and ``bench/replay.py`` that compare the two).
    """

    drift_alert_s: float = 120.0
    drift_min_samples: int = 3
    late_stop_s: float = 900.0
    stuck_after_s: float = 1800.0
    offline_after_s: float = 300.0
    boot_loop_boots: int = 3
    boot_loop_window_s: float = 900.0
    flap_connects: int = 4
    flap_window_s: float = 600.0
    mismatch_tolerance_wh: float = 50.0
    mismatch_tolerance_pct: float = 2.0
    max_power_w: float = 400_000.0
    max_power_ac_w: float = 44_000.0
    stop_tolerance_wh: float = 50.0
    stop_tolerance_pct: float = 1.0
    plausible_min_wh: float = 500.0
    minute_grace_s: float = 5.0
    evict_after_s: float = 7 * 86_400.0
    recovery: RecoveryPolicy = RecoveryPolicy.observe
    recovery_close_after_s: float = 86_400.0
    fast_path: bool = True
