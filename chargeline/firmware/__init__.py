"""Staged firmware rollouts with health gates (docs/firmware.md): ``plan`` makes a rollout
from the warehouse's cohort, ``agent`` drives it beside ``serve`` through the command desk,
``track`` and ``gates`` judge it from the warehouse's evidence, ``store`` keeps it durable."""
