"""``chargeline run`` with the optional roles: serve's and the flow's Prometheus metrics and
the driver API come up with the rest, answer on their ports, and Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from chargeline.ports import free_port


def _get(url: str, deadline: float) -> tuple[int, str]:
    """The first answer to GET ``url`` before ``deadline`` (monotonic)."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_run_starts_metrics_and_the_api_and_stops_them(tmp_path: Path) -> None:
    ocpp, dashboard, flow_metrics, api = (free_port() for _ in range(4))
    proc = subprocess.Popen(
        [sys.executable, "-m", "chargeline", "run", "--data-dir", str(tmp_path / "data"),
         "--port", str(ocpp), "--dashboard-port", str(dashboard),
         "--flow-metrics-port", str(flow_metrics), "--api-port", str(api)],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 90
        status, serve_text = _get(f"http://127.0.0.1:{ocpp}/metrics", deadline)
        assert status == 200 and "chargeline_chargers_connected" in serve_text
        status, flow_text = _get(f"http://127.0.0.1:{flow_metrics}/metrics", deadline)
        assert status == 200 and "chargeline_flow" in flow_text
        status, openapi = _get(f"http://127.0.0.1:{api}/openapi.json", deadline)
        assert status == 200 and '"openapi"' in openapi
        assert _get(f"http://127.0.0.1:{api}/v1/chargers/X/availability", deadline)[0] == 401  # no token
        assert _get(f"http://127.0.0.1:{dashboard}/", deadline)[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"http://127.0.0.1:{flow_metrics}/metrics (flow)" in err
    assert f"driver API -> http://127.0.0.1:{api}/v1" in err
