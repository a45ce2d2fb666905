"""End to end: ``chargeline dashboard`` as a real server on the fixture fleet, read by headless
Chromium; a session written while the page is open shows up without a reload."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from chargeline.ports import free_port
from tests.dashboards.conftest import CHROMIUM, SHOTS, write
from tests.warehouse.conftest import MIN, T0, session

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no Chromium at {CHROMIUM} (make browser-deps)")


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dashboard exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"dashboard not healthy at {url} after {timeout_s} s")


@pytest.fixture(scope="module")
def live_warehouse(warehouse_factory: Callable[..., Path]) -> Path:
    """A fleet of this module's own: a test appends a session to it (one the others never
    look for, on a charger without health, so the fleet numbers stay)."""
    return warehouse_factory()


@contextmanager
def serve(data_dir: Path, password: str | None = None) -> Iterator[str]:
    """``chargeline dashboard`` on a free port until the block ends; yields its address."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "CHARGELINE_DASHBOARD_PASSWORD"}
    if password:
        env["CHARGELINE_DASHBOARD_PASSWORD"] = password
    proc = subprocess.Popen(
        [sys.executable, "-m", "chargeline", "dashboard", "--data-dir", str(data_dir),
         "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(live_warehouse: Path) -> Iterator[str]:
    with serve(live_warehouse) as url:
        yield url


def open_timeline_by_its_link(tab: Any, server: str) -> None:
    tab.goto(f"{server}/sessions")
    link = tab.get_by_text("CP1/1 · completed · 7.000 kWh")
    link.wait_for()
    tab.screenshot(path=str(SHOTS / "sessions.png"), full_page=True)
    link.click()
    tab.get_by_text("Diagnostic timeline").wait_for()
    assert "/sessions?session=CP1" in tab.url, tab.url


def test_session_link_opens_its_timeline(tab: Any, server: str) -> None:
    tab.set_default_timeout(30_000)
    open_timeline_by_its_link(tab, server)
    assert tab.get_by_text("7.000 kWh").first.is_visible()
    for action in ("StartTransaction", "MeterValues", "StopTransaction"):
        tab.get_by_text(f"in {action}").first.wait_for()
    tab.get_by_text("in StopTransaction").first.click()
    tab.get_by_text('"StopTransaction",{"n":8}').wait_for()
    tab.wait_for_timeout(300)  # let the code block paint before the screenshot
    tab.screenshot(path=str(SHOTS / "session_timeline.png"), full_page=True)


def test_a_new_session_appears_without_reload(tab: Any, server: str,
                                              live_warehouse: Path) -> None:
    tab.goto(f"{server}/sessions", timeout=30_000)
    tab.get_by_text("CP1/1 · completed").wait_for(timeout=30_000)
    written = time.monotonic()
    write(live_warehouse, {"sessions": [session(
        "42", charge_point_id="CP9", status="active", started_at=T0 + 120 * MIN,
        stopped_at=None, energy_wh=9876.0, last_event_at=T0 + 121 * MIN)]})
    tab.get_by_text("CP9/42 · active · 9.876 kWh").wait_for(timeout=20_000)
    seen_after_s = time.monotonic() - written
    print(f"\nnew session visible without reload after {seen_after_s:.2f} s")
    tab.screenshot(path=str(SHOTS / "sessions_live.png"), full_page=True)
    assert seen_after_s < 10


def test_a_live_sessions_detail_updates_without_reload(tab: Any, server: str,
                                                      live_warehouse: Path) -> None:
    tab.goto(f"{server}/sessions?session=CP3%2F7", timeout=30_000)
    tab.get_by_text("Energy rule").wait_for(timeout=30_000)
    written = time.monotonic()
    write(live_warehouse, {"sessions": [session(
        "7", version=2, charge_point_id="CP3", status="active", started_at=T0 + 50 * MIN,
        stopped_at=None, energy_wh=3300.0, last_event_at=T0 + 59 * MIN)]})
    tab.get_by_text("3.300 kWh").wait_for(timeout=20_000)
    print(f"\nlive session's energy updated without reload after "
          f"{time.monotonic() - written:.2f} s")


def test_fleet_page_in_the_browser(tab: Any, server: str) -> None:
    tab.goto(f"{server}/", timeout=30_000)
    tab.get_by_text("66.7 %").wait_for(timeout=30_000)
    tab.get_by_text("Chargers, offline and degraded first").wait_for(timeout=10_000)
    tab.screenshot(path=str(SHOTS / "fleet.png"), full_page=True)


def test_password_gate_covers_a_page_opened_by_its_address(tab: Any, warehouse: Path) -> None:
    with serve(warehouse, password="s3cret-enough") as url:
        tab.goto(f"{url}/sessions?session=CP1%2F1", timeout=30_000)
        box = tab.get_by_label("Password", exact=True)
        box.wait_for(timeout=30_000)
        assert tab.get_by_text("Diagnostic timeline").count() == 0
        box.fill("wrong")
        box.press("Enter")
        tab.get_by_text("Wrong password.").wait_for(timeout=10_000)
        assert tab.get_by_text("7.000 kWh").count() == 0
        tab.screenshot(path=str(SHOTS / "password_gate.png"))
        box.fill("s3cret-enough")
        box.press("Enter")
        tab.get_by_text("Diagnostic timeline").wait_for(timeout=30_000)


# Markdown (and Streamlit's own :color[...], $math$) in a charger-chosen id and idTag, and in
# an address's query parameter: each page shows it as written.
HOSTILE_CP = "**x**[link](http://e)"
HOSTILE_TAG = ":red[paid] $x^2$ <b>bold</b>"


def test_charger_text_and_query_parameters_show_as_written(tab: Any,
                                                           warehouse_factory: Any) -> None:
    from urllib.parse import quote

    from tests.warehouse.conftest import health

    hostile = warehouse_factory({
        "charger_health": [health(m, charge_point_id=HOSTILE_CP, firmware_version="_fw_")
                           for m in range(3)],
        "sessions": [session("1", charge_point_id=HOSTILE_CP, id_tag=HOSTILE_TAG)]})
    session_id = f"{HOSTILE_CP}/1"
    with serve(hostile) as url:
        for address, texts in (
                ("/chargers", [HOSTILE_CP]),
                (f"/chargers?charger={quote(HOSTILE_CP)}", [f"Charger {HOSTILE_CP}", "_fw_"]),
                (f"/chargers?charger={quote('[a](http://e) **b**')}",
                 ["No charger '[a](http://e) **b**' in the warehouse."]),
                (f"/sessions?session={quote(session_id, safe='')}",
                 [f"Session {session_id}", HOSTILE_TAG, f"Charger {HOSTILE_CP}"])):
            tab.goto(url + address, timeout=30_000)
            for text in texts:
                tab.get_by_text(text, exact=True).filter(visible=True).first.wait_for(
                    timeout=30_000)
            assert tab.locator('a[href^="http://e"]').count() == 0, address
            assert tab.locator("strong, em, b, .katex").count() == 0, address
        tab.screenshot(path=str(SHOTS / "hostile_ids.png"), full_page=True)
