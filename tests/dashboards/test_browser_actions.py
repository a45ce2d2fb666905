"""End to end, an operator's remote stop: ``chargeline run`` (the real ingest with its admin
API, the real flow, the real dashboard as processes), a charger of the ``ocpp`` library with a
running session that really stops when asked, and headless Chromium clicking "Stop session".
The page shows the command's outcome at once and, within the flow's latency, the session
completed with stop reason Remote."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import websockets
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action, Reason, RemoteStartStopStatus

from chargeline.operators import OperatorStore
from chargeline.ports import free_port
from tests.dashboards.conftest import CHROMIUM, SHOTS
from tests.dashboards.test_browser import wait_healthy
from tests.dashboards.test_demo import wait_for_rows

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no Chromium at {CHROMIUM} (make browser-deps)")
CP = "CP-OPS-1"
PASSWORD = "operator-secret-1"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StoppableCharger(ChargePoint):  # type: ignore[misc]
    """Accepts a RemoteStopTransaction for its running transaction, then stops it as a real
    charger does: a StopTransaction with reason Remote."""

    transaction_id = 0
    register_wh = 1000

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        ok = transaction_id == self.transaction_id
        return call_result.RemoteStopTransaction(
            status=RemoteStartStopStatus.accepted if ok else RemoteStartStopStatus.rejected)

    @after(Action.remote_stop_transaction)
    async def stop_it(self, transaction_id: int) -> None:
        if transaction_id == self.transaction_id:
            await self.call(call.StopTransaction(
                meter_stop=self.register_wh + 20, timestamp=now(),
                transaction_id=transaction_id, reason=Reason.remote))

    async def begin(self) -> int:
        await self.call(call.BootNotification(charge_point_model="e2e",
                                              charge_point_vendor="chargeline"))
        started = await self.call(call.StartTransaction(
            connector_id=1, id_tag="OPS-TAG", meter_start=self.register_wh, timestamp=now()))
        self.transaction_id = int(started.transaction_id)
        return self.transaction_id


def charge(url: str, started: queue.Queue[int], done: threading.Event) -> None:
    """The charger's life, in a thread of its own: connect, start a session, answer until
    ``done``."""
    async def life() -> None:
        async with websockets.connect(f"{url}/{CP}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
            cp = StoppableCharger(CP, ws)
            listening = asyncio.create_task(cp.start())
            started.put(await cp.begin())
            while not done.is_set():
                await asyncio.sleep(0.1)
            listening.cancel()

    asyncio.run(life())


@dataclass(frozen=True)
class Stack:
    data_dir: Path
    ocpp_url: str
    dashboard: str


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """``chargeline run`` on a fresh data dir with an operator ``alice``."""
    OperatorStore.in_dir(tmp_path).add("alice", PASSWORD)
    port, dash = free_port(), free_port()
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "chargeline", "run", "--data-dir", str(tmp_path),
         "--port", str(port), "--dashboard-port", str(dash)], stdout=subprocess.DEVNULL,
        stderr=log, env={k: v for k, v in os.environ.items()
                         if k != "CHARGELINE_DASHBOARD_PASSWORD"})
    url = f"http://127.0.0.1:{dash}"
    try:
        wait_healthy(url, proc, timeout_s=60)
        for _ in range(200):
            if (tmp_path / "admin.json").exists():
                break
            time.sleep(0.05)
        yield Stack(tmp_path, f"ws://127.0.0.1:{port}/ocpp", url)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()


def test_an_operator_stops_a_running_session_from_its_page(stack: Stack, tab: Any) -> None:
    started: queue.Queue[int] = queue.Queue()
    done = threading.Event()
    charger = threading.Thread(target=charge, args=(stack.ocpp_url, started, done), daemon=True)
    charger.start()
    try:
        session_id = f"{CP}:{started.get(timeout=20)}"
        wait_for_rows(stack.data_dir, "select 1 from sessions where session_id = "
                                      f"'{session_id}' and status = 'active'", timeout_s=30)
        tab.goto(f"{stack.dashboard}/sessions?session={quote(session_id, safe='')}")
        tab.get_by_text("Energy rule").wait_for()
        assert tab.get_by_role("button", name="Stop session").count() == 0, "a viewer"
        tab.get_by_label("Operator name").fill("alice")
        tab.get_by_label("Operator password").fill(PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
        tab.get_by_text("Signed in as operator alice").wait_for()
        tab.get_by_role("button", name="Stop session", exact=True).click()
        tab.get_by_text(f"Asks charger {CP} to stop session {session_id}").wait_for()
        clicked = time.monotonic()
        tab.get_by_role("button", name="Confirm: Stop session").click()
        tab.get_by_text("Done: the charger answered Accepted in").wait_for()
        shown_after_s = time.monotonic() - clicked
        tab.locator("[data-testid='stMetricValue']", has_text="completed").wait_for()
        tab.get_by_role("cell", name="Remote", exact=True).wait_for()
        completed_after_s = time.monotonic() - clicked
        # the actions panel is a fragment of its own: it drops the button on its next run
        tab.get_by_role("button", name="Stop session", exact=True).wait_for(
            state="detached", timeout=10_000)
        # the diagnostic timeline (refreshed every 10 s while the session ran): the CALL, the
        # charger's answer, the StopTransaction it then sent
        for frame in ("out RemoteStopTransaction", "in RemoteStopTransaction",
                      "in StopTransaction"):
            tab.get_by_text(frame).first.wait_for(timeout=20_000)
        timeline_after_s = time.monotonic() - clicked
        tab.wait_for_timeout(300)  # let the last fragment paint before the screenshot
        tab.screenshot(path=str(SHOTS / "operator_stop_session.png"), full_page=True)
    finally:
        done.set()
        charger.join(10)
    print(f"\nremote stop: outcome on the page {shown_after_s:.2f} s after Confirm, "
          f"session completed on the page after {completed_after_s:.2f} s, on its timeline "
          f"after {timeline_after_s:.2f} s")
    sent = wait_for_rows(stack.data_dir, "select origin, requested_by, outcome, status, "
                                         "session_id from commands", timeout_s=20)
    assert sent == [{"origin": "dashboard", "requested_by": "alice", "outcome": "answered",
                     "status": "Accepted", "session_id": session_id}]
    assert PASSWORD not in (stack.data_dir / "run.log").read_text()
