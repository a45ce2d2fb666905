"""Dashboards on a real warehouse (fixture traces replayed): page logic with AppTest, and the
real server in headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.adapters.conftest import FRAMES

APP = str(Path(__file__).parents[2] / "dashboards" / "app.py")
CLI = [sys.executable, "-m", "chargeline"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("wh")
    for path in sorted(FRAMES.glob("*/*.jsonl")):
        subprocess.run([*CLI, "import", "--data-dir", str(data), str(path)], check=True,
                       capture_output=True)
    subprocess.run([*CLI, "replay", "--data-dir", str(data)], check=True, capture_output=True)
    return data


def page(data: Path, name: str, monkeypatch: pytest.MonkeyPatch, **params: str) -> AppTest:
    monkeypatch.setenv("CHARGELINE_DATA_DIR", str(data))
    at = AppTest.from_file(str(Path(APP).parent / "pages" / f"{name}.py"), default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_session_page_shows_billed_energy_and_timeline(warehouse: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    at = page(warehouse, "sessions", monkeypatch, session="IOC-01:IOC-TX-1")
    assert not at.exception
    assert [m.value for m in at.metric][:2] == ["0.083 kWh", "completed"]
    timeline = at.dataframe[-1].value
    assert len(timeline) >= 6 and "TransactionEvent" in set(timeline["action"].dropna())


def test_alerts_and_fleet_pages_render_real_rows(warehouse: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    at = page(warehouse, "alerts", monkeypatch)
    assert not at.exception
    assert "duplicate_stop" in set(at.dataframe[0].value["kind"])
    fleet = page(warehouse, "fleet", monkeypatch)
    assert not fleet.exception


def test_empty_warehouse_says_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page(tmp_path, "sessions", monkeypatch)
    assert not at.exception
    assert any("No sessions yet" in i.value for i in at.info)


def test_password_gate(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGELINE_DATA_DIR", str(warehouse))
    monkeypatch.setenv("CHARGELINE_DASHBOARD_PASSWORD", "s3cret-enough")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert len(at.text_input) == 1 and not at.title
    at.text_input[0].set_value("wrong").run()
    assert at.error


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(warehouse: Path) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([*CLI, "dashboard", "--data-dir", str(warehouse), "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="Debian chromium absent")
def test_browser_follows_a_session_link_to_its_timeline(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto(f"{server}/sessions?session=IOC-01:IOC-TX-1", timeout=60_000)
        tab.get_by_text("0.083 kWh").wait_for(timeout=60_000)
        tab.get_by_text("Diagnostic timeline").wait_for(timeout=30_000)
        tab.screenshot(path=str(tmp_path / "session.png"))
        tab.goto(f"{server}/", timeout=60_000)
        tab.get_by_text("Online").first.wait_for(timeout=60_000)
        browser.close()
