"""The Rollouts page in headless Chromium, served by ``chargeline dashboard`` on a data dir
holding a halted rollout's state file: the operator sees why it halted and the gate behind it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.dashboards.conftest import CHROMIUM, SHOTS
from tests.dashboards.rollout_files import ODD_KEBA, halted, write_rollouts
from tests.dashboards.test_browser import serve
from warehouse.catalog import ensure

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no Chromium at {CHROMIUM} (make browser-deps)")


def test_a_halted_rollout_shows_its_halt_reason_and_gates(tab: Any, tmp_path: Path) -> None:
    ensure(tmp_path)
    with serve(write_rollouts(tmp_path, halted())) as url:
        tab.goto(f"{url}/rollouts", timeout=30_000)
        reason = tab.get_by_role("alert").get_by_text(
            "Halted: gate boot_loop breached by model P30 in wave 1: 2 chargers against a "
            f"limit of 0 chargers (over 2). Chargers behind it: KEBA-1, {ODD_KEBA}.",
            exact=True)
        reason.wait_for(timeout=30_000)
        assert reason.locator("em, strong").count() == 0  # the id's underscores as written
        tab.get_by_text("Gates against their limits").wait_for()
        gates = tab.get_by_test_id("stDataFrame").nth(1)
        gates.wait_for()
        # The grid paints on a canvas; its cells' text is in an accessibility table beside.
        gates.get_by_test_id("glide-cell-1-0").wait_for(state="attached")
        breach = [gates.get_by_test_id(f"glide-cell-{c}-0").inner_text() for c in range(10)]
        assert breach == ["1", "boot_loop", "P30", "2", "0", "chargers", "2", "", "true",
                          f"KEBA-1, {ODD_KEBA}"]
        assert gates.locator("canvas").first.is_visible()
        tab.get_by_text(f"Charger {ODD_KEBA}", exact=True).wait_for()
        tab.wait_for_timeout(500)  # let the grids and the chart paint before the screenshot
        tab.screenshot(path=str(SHOTS / "rollout_halted.png"), full_page=True)
