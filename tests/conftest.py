"""How the suite shares two cores: ``make unit`` runs ``pytest -n 2 --dist loadfile``.

Each test file runs whole on one worker, so its module-scoped stacks (a dashboard server, a
demo run, a broker) start once. The files below assert wall-clock figures; under xdist they
form one work unit, run first and one after the other on a single worker, so two of them never
load the box at the same time. The other worker runs the rest meanwhile at a lower CPU priority
(``NICE``, inherited by the servers and browsers it starts): when both want the cores, the
wall-clock test gets them. A worker lowers its own priority at its first test of another file,
so the wall-clock unit, always the first of its worker, runs at the priority it was given.

xdist's own ``xdist_group`` mark cannot group them here: ``--dist loadgroup`` renames
``item._nodeid``, which pytest 9.2 no longer reads, so every test would be scheduled alone.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

NICE = 5  # CPU weight 335 against 1024 (nice 0): ~3:1 for the wall-clock worker

WALL_CLOCK = {
    "tests/chargeline/test_firmware_rollout.py": "gates judge wall-clock windows",
    "tests/dashboards/test_demo.py": "p95 frame-to-page latency; page and API agree",
    "tests/dashboards/test_browser.py": "a new session visible in < 10 s",
    "tests/ingest/test_hostile.py": "a good charger in < 0.5 s, back within 2 s",
    "tests/reliability/test_auth_hostile.py": "refusal-time medians compared",
    "tests/reliability/test_peers.py": "a stuck peer freed within seconds",
    "tests/reliability/test_preauth.py": "flood p99, 40 handshakes < 1 s",
    "tests/reliability/test_storms.py": "storm < 20 s, heartbeat median < 50 ms",
    "tests/uptime/test_sim_uptime.py": "truth tolerance in wall seconds",
}


def work_unit(nodeid: str) -> str:
    """The file of a test, or ``wall_clock`` for the files above."""
    path = nodeid.split("::", 1)[0]
    return "wall_clock" if path in WALL_CLOCK else path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the wall-clock files first: the longest unit starts at once."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: work_unit(item.nodeid) != "wall_clock")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under xdist, a test outside the wall-clock unit lowers its worker's priority (once)."""
    if hasattr(item.config, "workerinput") and work_unit(item.nodeid) != "wall_clock" \
            and os.getpriority(os.PRIO_PROCESS, 0) < NICE:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the wall-clock files as one unit."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class WallClockApart(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WallClockApart(config, log)
