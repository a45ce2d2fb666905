"""The one-command demo end to end: ``chargeline run --demo`` (ingest, flow, dashboard and a
simulated fleet as real processes), read by headless Chromium. Real numbers from the warehouse
appear on the pages, a session link opens its timeline, and a charger of the test's own, on
the real OCPP endpoint, times its frames until their effect is visible on the Sessions page."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from websockets.sync.client import connect

from tests.dashboards.conftest import CHROMIUM, SHOTS
from tests.dashboards.test_browser import free_port, wait_healthy
from warehouse import catalog

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no Chromium at {CHROMIUM} (make browser-deps)")
PROBE = "E2E-PROBE-01"
AGREE_BEFORE_S, AGREE_AFTER_S = 9.0, 5.0  # the page's figures among the API's, around it
ROUNDS = 8  # starts and stops: 16 timed frames


@dataclass(frozen=True)
class Demo:
    data_dir: Path
    ocpp_url: str
    dashboard: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data_dir = tmp_path_factory.mktemp("demo")
    port, dash = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chargeline", "run", "--demo", "--data-dir", str(data_dir),
         "--port", str(port), "--dashboard-port", str(dash), "--chargers", "30",
         "--speed", "600", "--duration", "600"],
        stdout=subprocess.DEVNULL, stderr=(data_dir / "run.log").open("wb"),
        env={k: v for k, v in os.environ.items() if k != "CHARGELINE_DASHBOARD_PASSWORD"})
    url = f"http://127.0.0.1:{dash}"
    try:
        wait_healthy(url, proc, timeout_s=90)
        yield Demo(data_dir, f"ws://127.0.0.1:{port}/ocpp", url)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=60) == 0, (data_dir / "run.log").read_text()[-2000:]
        finally:
            if proc.poll() is None:
                proc.kill()


def wait_for_rows(data_dir: Path, sql: str, timeout_s: float = 120) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        con = catalog.connect(data_dir)
        try:
            rows: list[dict[str, Any]] = catalog.query(con, data_dir, sql).to_pylist()
        finally:
            con.close()
        if rows:
            return rows
        time.sleep(0.5)
    raise TimeoutError(f"no rows after {timeout_s} s for: {sql}")


def test_fleet_page_shows_the_warehouses_numbers(demo: Demo, tab: Any) -> None:
    chargers = wait_for_rows(demo.data_dir, "select charge_point_id from charger_status "
                                            "where charge_point_id like 'SIM-%' order by 1")
    tab.goto(demo.dashboard + "/")
    tab.get_by_text("Fleet online").wait_for()
    cell = tab.locator("td", has_text="charger=SIM-").first  # grid cells: drawn on a canvas,
    cell.wait_for(state="attached")                         # kept in the DOM for a11y
    shown = cell.text_content().rsplit("=", 1)[-1]
    # chargers keep connecting: the page, read after the first rows, may show a newer one
    # (CI: 'SIM-HUAWEI-0004' beside a first read of only 'SIM-OPENEVSE-0006'); the warehouse
    # read after the page must hold it
    assert chargers
    chargers = wait_for_rows(demo.data_dir, "select charge_point_id from charger_status "
                                            "where charge_point_id like 'SIM-%' order by 1")
    assert shown in {r["charge_point_id"] for r in chargers}, shown
    percent = tab.locator("[data-testid='stMetricValue']").first.inner_text()
    assert percent.endswith("%") and 0 < float(percent.rstrip(" %")) <= 100, percent
    tab.screenshot(path=str(SHOTS / "demo_fleet.png"), full_page=True)


def test_a_completed_demo_session_links_to_its_timeline(demo: Demo, tab: Any) -> None:
    done = wait_for_rows(demo.data_dir, (
        "select session_id, charge_point_id, energy_wh from sessions where status = 'completed' "
        "and charge_point_id like 'SIM-%' and energy_wh > 0 order by stopped_at limit 1"))[0]
    kwh = f"{done['energy_wh'] / 1000:.3f} kWh"
    tab.goto(f"{demo.dashboard}/sessions?charger={quote(done['charge_point_id'])}")
    link = tab.get_by_text(f"{done['session_id']} · completed · {kwh}")
    link.wait_for()
    tab.screenshot(path=str(SHOTS / "demo_sessions.png"), full_page=True)
    link.click()
    tab.get_by_text("Diagnostic timeline").wait_for()
    assert tab.get_by_text(kwh).first.is_visible()
    tab.get_by_text("in StopTransaction").first.wait_for()
    tab.screenshot(path=str(SHOTS / "demo_session_timeline.png"), full_page=True)


class Probe:
    """A charger of the test's own: raw OCPP 1.6J frames on the real endpoint."""

    def __init__(self, url: str) -> None:
        self.ws = connect(f"{url}/{PROBE}", subprotocols=["ocpp1.6"])  # type: ignore[list-item]
        self.n = 0
        self.register = 1_000_000

    def call(self, action: str, payload: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """Sends; returns (send time, answer payload)."""
        self.n += 1
        sent = time.monotonic()
        self.ws.send(json.dumps([2, f"p{self.n}", action, payload]))
        answer = json.loads(self.ws.recv(timeout=10))
        assert answer[0] == 3, answer
        return sent, answer[2]

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_frame_to_page_latency(demo: Demo, tab: Any) -> None:
    """Time from a charger's frame leaving it to the session's new state on the page."""
    probe = Probe(demo.ocpp_url)
    probe.call("BootNotification", {"chargePointVendor": "chargeline", "chargePointModel": "e2e"})
    tab.goto(f"{demo.dashboard}/sessions?charger={PROBE}")
    tab.get_by_text("Sessions").first.wait_for()
    latencies = []
    for i in range(ROUNDS):
        start = probe.register
        sent, answer = probe.call("StartTransaction", {
            "connectorId": 1, "idTag": f"E2E{i}", "meterStart": start, "timestamp": probe.now()})
        sid = f"{PROBE}:{answer['transactionId']}"
        tab.get_by_text(f"{sid} · active").wait_for(timeout=30_000)
        latencies.append(time.monotonic() - sent)
        probe.register += 1000 * (i + 1)
        sent, _ = probe.call("StopTransaction", {
            "transactionId": answer["transactionId"], "meterStop": probe.register,
            "timestamp": probe.now(), "reason": "Local"})
        tab.get_by_text(f"{sid} · completed · {i + 1:.3f} kWh").wait_for(timeout=30_000)
        latencies.append(time.monotonic() - sent)
    probe.ws.close()
    tab.screenshot(path=str(SHOTS / "demo_probe_sessions.png"), full_page=True)
    ordered = sorted(latencies)
    p50, p95 = ordered[len(ordered) // 2], ordered[int(0.95 * (len(ordered) - 1))]
    print(f"\nframe -> visible on the Sessions page: p50 {p50:.2f} s, p95 {p95:.2f} s, "
          f"max {ordered[-1]:.2f} s over {len(ordered)} frames")
    assert p95 < 5.0, ordered


def test_driver_api_and_session_page_agree(demo: Demo, tab: Any) -> None:
    """A session of the probe's own, metering as it charges: each time the session page
    shows its energy and power, the driver API said the same within one refresh (the page's
    2 s, the page's 1.5 s cache and the API's 1 s shared read; twice that on a loaded box)."""
    import re
    import threading
    import urllib.request

    token = subprocess.run(
        [sys.executable, "-m", "chargeline", "api", "--data-dir", str(demo.data_dir),
         "clients", "add", "e2e-app"], capture_output=True, text=True, check=True,
        timeout=60).stdout.strip()
    api = subprocess.Popen(
        [sys.executable, "-m", "chargeline", "api", "--data-dir", str(demo.data_dir),
         "--port", "0"], stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    said: list[tuple[float, tuple[str, str]]] = []
    done = threading.Event()
    try:
        assert api.stderr is not None
        found = re.search(r"(http://\S+/v1)", api.stderr.readline())
        assert found
        base = found.group(1)
        probe = Probe(demo.ocpp_url)
        probe.call("BootNotification", {"chargePointVendor": "chargeline",
                                        "chargePointModel": "e2e"})
        _, answer = probe.call("StartTransaction", {
            "connectorId": 1, "idTag": "APP1", "meterStart": probe.register,
            "timestamp": probe.now()})
        tx = answer["transactionId"]
        sid = f"{PROBE}:{tx}"

        def poll() -> None:  # a driver app polling its session
            request = urllib.request.Request(f"{base}/sessions/{quote(sid, safe='')}",
                                             headers={"Authorization": f"Bearer {token}"})
            while not done.is_set():
                try:
                    with urllib.request.urlopen(request, timeout=5) as reply:
                        s = json.loads(reply.read())
                    energy = "-" if s["energy_kwh"] is None else f"{s['energy_kwh']:.3f} kWh"
                    power = "-" if s["power_kw"] is None else f"{s['power_kw']:.1f} kW"
                    said.append((time.monotonic(), (energy, power)))
                except OSError:
                    pass
                time.sleep(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        tab.goto(f"{demo.dashboard}/sessions?session={quote(sid)}")
        tab.get_by_text("Energy so far").wait_for(timeout=90_000)  # a loaded box: 30 s was short
        pages: list[tuple[float, tuple[str, str]]] = []
        for k in range(1, 8):
            probe.register += 500 * k
            probe.call("MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [{
                "timestamp": probe.now(), "sampledValue": [
                    {"value": str(probe.register),
                     "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": str(1000 * k), "measurand": "Power.Active.Import",
                     "unit": "W"}]}]})
            time.sleep(3.0)
            # one snapshot of the page: metric by metric, a redraw could fall between reads
            shown = dict(tab.evaluate("""() => [...document.querySelectorAll(
                "[data-testid='stMetric']")].map(m => {
                    const lines = m.innerText.split("\\n"); return [lines[0], lines.at(-1)]; })"""))
            if "Energy so far" in shown:
                pages.append((time.monotonic(), (shown["Energy so far"], shown["Power now"])))
        time.sleep(AGREE_AFTER_S)  # the API's reads after the last snapshot, for its window
        probe.ws.close()
        # Within one refresh of either side: a figure the page showed must be one the API
        # answered from AGREE_BEFORE_S before to AGREE_AFTER_S after (the page redraws every
        # 4.5 s, the API rereads once a second, and on a loaded CI box either read can take
        # seconds more). Each figure on its own: Streamlit redraws element by element, so for
        # a moment the page may show the new power beside the energy of the redraw before.
        disagreements = []
        for at, page in pages:
            window = [v for t, v in said if at - AGREE_BEFORE_S <= t <= at + AGREE_AFTER_S]
            if any(figure not in {v[i] for v in window} for i, figure in enumerate(page)):
                disagreements.append((page, sorted(set(window))))
        assert len(pages) >= 6 and not disagreements, disagreements
        assert said[-1][1][0] != said[0][1][0]  # the session did move while compared
        tab.screenshot(path=str(SHOTS / "demo_session_live.png"), full_page=True)
    finally:
        done.set()
        api.terminate()
        api.wait(20)
