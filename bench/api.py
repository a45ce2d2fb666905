"""The driver API under a simulated hour: ``chargeline run --demo`` (ingest, flow, dashboard,
a simulated fleet at ``--speed``) and ``chargeline api`` beside it.

1. **Latency under polling clients.** ``--clients`` keep-alive HTTP clients each ask for one
   live session every ``--period`` s (sessions dealt round robin) for ``--seconds``; the
   baseline, in the same run, is the same clients asking for ``/openapi.json`` (answered
   from memory: the framework's floor), so the ratio is what reading the warehouse costs.
2. **API vs dashboard over the simulated hour.** Headless Chromium on the session page of a
   running session; every few seconds the page's "Energy so far" / "Power now" against what
   the API answered within one refresh before it (a poller asks every 0.1 s). A page value
   the API never said in that window is a disagreement. A session that ends is swapped for
   another running one.

    python -m bench.api [--chargers 100] [--speed 60] [--clients 100] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from bench._common import free_port, percentile, report
from warehouse.catalog import connect, query

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
WARMUP_S = 3.0   # untimed: every client's first asks (a new session waits for its first read)
WINDOW_S = 4.5  # one refresh: the page's 2 s, its loaders' 1.5 s cache, the API's 1 s read
METRICS_JS = """() => [...document.querySelectorAll("[data-testid='stMetric']")].map(m => {
    const lines = m.innerText.split("\\n"); return [lines[0], lines.at(-1)]; })"""


def _cli(*args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "chargeline", *args], cwd=ROOT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, **kw)


def _active(data_dir: Path) -> list[str]:
    con = connect(data_dir)
    try:
        rows = query(con, data_dir, "select session_id from sessions where status = 'active' "
                                    "and charge_point_id like 'SIM-%' order by started_at desc")
        return [str(r["session_id"]) for r in rows.to_pylist()]
    except Exception:
        return []
    finally:
        con.close()


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
               path: str, token: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                 "\r\n".encode())
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _poll(base: str, token: str, paths: list[str], *, clients: int, seconds: float,
                period_s: float) -> dict[str, Any]:
    host_port = base.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(n: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        loop = asyncio.get_running_loop()
        next_at = loop.time() + (n / clients) * period_s
        timed_from = loop.time() + WARMUP_S  # steady polling: every client asked before
        end = timed_from + seconds
        try:
            while next_at < end:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                start = time.perf_counter()
                status = await _get(reader, writer, host_port, paths[n % len(paths)], token)
                if next_at >= timed_from:
                    latencies.append(time.perf_counter() - start)
                    statuses[status] = statuses.get(status, 0) + 1
                next_at += period_s
        finally:
            writer.close()

    await asyncio.gather(*(one(n) for n in range(clients)))
    return {"requests": len(latencies), "statuses": statuses,
            **{f"p{q}_ms": round(percentile(latencies, q / 100) * 1e3, 2) for q in (50, 95, 99)}}


def _compare(dashboard: str, base: str, token: str, data_dir: Path, until: float
             ) -> dict[str, Any]:
    """Page against API over the run, as tests/dashboards/test_demo.py does for one session."""
    from playwright.sync_api import sync_playwright

    said: list[tuple[float, str, tuple[str, str]]] = []
    current: list[str] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            if current:
                sid = current[0]
                request = urllib.request.Request(
                    f"{base}/sessions/{quote(sid, safe='')}",
                    headers={"Authorization": f"Bearer {token}"})
                try:
                    with urllib.request.urlopen(request, timeout=5) as reply:
                        s = orjson.loads(reply.read())
                    energy = "-" if s["energy_kwh"] is None else f"{s['energy_kwh']:.3f} kWh"
                    power = "-" if s["power_kw"] is None else f"{s['power_kw']:.1f} kW"
                    said.append((time.monotonic(), sid, (energy, power)))
                except OSError:
                    pass
            time.sleep(0.1)

    threading.Thread(target=poll, daemon=True).start()
    checks, disagreements, sessions = 0, [], set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        tab = browser.new_page()
        while time.monotonic() < until:
            if not current:
                active = _active(data_dir)
                if not active:
                    time.sleep(1)
                    continue
                current[:] = [active[0]]
                sessions.add(active[0])
                tab.goto(f"{dashboard}/sessions?session={quote(active[0])}")
                time.sleep(WINDOW_S)
            shown = dict(tab.evaluate(METRICS_JS))  # one snapshot of the page
            at = time.monotonic()
            time.sleep(0.5)
            if "Energy so far" not in shown:  # the session ended: another one
                current.clear()
                continue
            checks += 1
            page = (shown["Energy so far"], shown["Power now"])
            window = {v for t, sid, v in said if sid == current[0] and at - WINDOW_S <= t <= at}
            # each figure on its own: Streamlit redraws element by element
            if any(figure not in {v[i] for v in window} for i, figure in enumerate(page)):
                disagreements.append({"session": current[0], "page": page,
                                      "api": sorted(window)})
            time.sleep(2.5)
        browser.close()
    done.set()
    return {"checks": checks, "sessions": len(sessions),
            "disagreements": len(disagreements), "examples": disagreements[:5]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chargers", type=int, default=100)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--period", type=float, default=1.0)
    a = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    port, dash = free_port(), free_port()
    hour_s = 3600 / a.speed
    run = _cli("run", "--demo", "--data-dir", str(data_dir), "--port", str(port),
               "--dashboard-port", str(dash), "--chargers", str(a.chargers), "--speed",
               str(a.speed), "--duration", str(4 * 3600), stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL)
    api = None
    try:
        add = subprocess.run([sys.executable, "-m", "chargeline", "api", "--data-dir",
                              str(data_dir), "clients", "add", "bench"], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        token = add.stdout.strip()
        started = time.monotonic()
        while len(active := _active(data_dir)) < 10 and time.monotonic() - started < 180:
            time.sleep(1)
        api = _cli("api", "--data-dir", str(data_dir), "--port", "0", stderr=subprocess.PIPE)
        assert api.stderr is not None
        found = re.search(r"(http://\S+/v1)", api.stderr.readline())
        assert found, "chargeline api did not start"
        base = found.group(1)
        paths = [f"/v1/sessions/{quote(s, safe='')}" for s in active[:a.clients]]
        load0 = os.getloadavg()[0]
        timing = {"clients": a.clients, "seconds": a.seconds, "period_s": a.period}
        floor = asyncio.run(_poll(base, token, ["/openapi.json"], **timing))
        live = asyncio.run(_poll(base, token, paths, **timing))
        compared = _compare(f"http://127.0.0.1:{dash}", base, token, data_dir,
                            time.monotonic() + hour_s)
    finally:
        if api is not None:
            api.terminate()
            api.wait(20)
        run.send_signal(signal.SIGINT)
        run.wait(60)
        shutil.rmtree(data_dir, ignore_errors=True)
    report("api", {"chargers": a.chargers, "speed": a.speed, "clients": a.clients,
                   "seconds": a.seconds, "period_s": a.period, "sessions_polled": len(paths),
                   "load_average_at_start": round(load0, 2),
                   "openapi_baseline": floor, "live_session": live,
                   "p95_ratio_vs_baseline": round(live["p95_ms"] / floor["p95_ms"], 2),
                   "simulated_hour_wall_s": hour_s, "api_vs_dashboard": compared},
           [(f"{a.clients} clients: live session p50/p95/p99 ms",
             f"{live['p50_ms']}/{live['p95_ms']}/{live['p99_ms']}"),
            ("baseline /openapi.json p50/p95/p99 ms",
             f"{floor['p50_ms']}/{floor['p95_ms']}/{floor['p99_ms']}"),
            ("statuses", live["statuses"]),
            ("API vs dashboard over the simulated hour",
             f"{compared['disagreements']} disagreements in {compared['checks']} checks "
             f"({compared['sessions']} sessions)")])


if __name__ == "__main__":
    main()
